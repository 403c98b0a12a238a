"""Reports: rendering indicator results for people (tables, maps, documents)."""
