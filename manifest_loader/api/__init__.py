"""The HTTP API behind `manifest-loader serve`: the CLI's commands over JSON, for the simulator's UI and scripts.

`create_app(manifests_dir)` builds the FastAPI app. Manifests are named by their file stem and
only files directly inside the configured folder can be named. Loads run `apply` in a
background thread with a `Progress` that keeps live per-table rows and bytes; the metadata
database (runs.RunStore) holds everything else. Errors are RFC 7807 problem details whose
`detail` is the CLI's message; the loader masks passwords at their source and every response
is scrubbed once more of the secrets the environment holds.

The package: `app` (the app, its error handlers and middleware), `models` (the OpenAPI
document), `problems` (errors, secret scrubbing), `service` (what routes share), `progress`
(live progress of loads) and one module per resource: `experiments`, `runs`, `validate`,
`query`, `tables` (table previews). Routes are thin: they call `manifest_loader.commands`.
"""

from __future__ import annotations

from .app import create_app
from .problems import ApiProblem, Secrets, loader_problem
from .progress import ApiProgress
from .service import Service

__all__ = ["ApiProblem", "ApiProgress", "Secrets", "Service", "create_app", "loader_problem"]
