"""bcf: the Better Care Fund planning round, from blank template to national assurance."""

__version__ = "0.1.0"
