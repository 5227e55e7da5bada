"""The dw-simulator's side of a load: its metadata database, its schemas and its generation runs.

The simulator (`dw-sim`) keeps experiments and generation runs in a SQLAlchemy database
(DW_SIMULATOR_TARGET_DB_URL) and writes each run's Parquet files under its data root
(DW_SIMULATOR_DATA_ROOT) as generated/<experiment>/<run folder>/<table>/batch-*.parquet.
These modules read that, never write it:

- metadata.py: the simulator's database (experiments, generation runs, row_counts);
- schema.py: schema_json read into typed tables and columns, mapped to portable types;
- manifestgen.py: the manifest text (from a schema, or from a folder of Parquet tables);
- selection.py: which run a load reads, and whether its files are all there;
- link.py: the check that a load's sources are the files of the generation run it names;
- experiment.py: the commands' logic (init, list, load, status, warehouse choice, names as manifests);
- folder.py, status.py: `init --from-folder` and `experiment status`'s text.

Our own rows (the link of each load to its run, its files, the warehouse chosen per experiment)
are in runs.py's tables.
"""
