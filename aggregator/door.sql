-- What the store holds: the rounds, by return. Used by bcf.national.door to pick a view's round.

-- query: rounds
SELECT DISTINCT round FROM submissions WHERE $kind IS NULL OR return_kind = $kind;
