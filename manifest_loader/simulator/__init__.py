"""The dw-simulator's side of a load: its metadata database, its schemas and its generation runs.

The simulator (`dw-sim`) keeps experiments and generation runs in a SQLAlchemy database
(DW_SIMULATOR_TARGET_DB_URL) and writes each run's Parquet files under its data root
(DW_SIMULATOR_DATA_ROOT) as generated/<experiment>/<run folder>/<table>/batch-*.parquet.
These modules read that, never write it: metadata.py (the database), schema.py (schema_json ->
a manifest), selection.py (which run, and are its files all there), experiment.py (the
commands' logic: list, load, status, manifests for experiment names).
"""
