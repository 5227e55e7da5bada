"""manifest-loader: load Parquet into Redshift, Snowflake or their local emulators from a YAML manifest."""

__version__ = "0.1.0"
