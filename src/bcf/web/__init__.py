"""The self-check web page: a council officer uploads their workbook and sees what `bcf check` finds.

``bcf serve`` runs it. The check is ``bcf.validate.check_file``, the same engine as ``bcf check``; this
package only takes the upload safely, runs the check in a worker with a time limit, and shows the result.
See docs/web.md.
"""

from bcf.web.app import App, Settings, create_app

__all__ = ["App", "Settings", "create_app"]
