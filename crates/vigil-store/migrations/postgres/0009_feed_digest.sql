-- The fingerprint of the feed bytes a source was last imported from (issue 5): an import of
-- byte-identical feed files is recognised before the feed is read. NULL: not known (sources
-- imported before this column, or records added through the library).
ALTER TABLE sources ADD COLUMN feed_digest TEXT;
