# manifest-loader in a container: `docker build -t manifest-loader .`, then
#   docker run --rm -v "$PWD/manifests:/work/manifests:ro" manifest-loader validate manifests/ecommerce.yaml
# docker-compose.yml builds this image as its `loader` service next to the emulators.
FROM python:3.11-slim

# No .pyc files in the image, unbuffered logs, no pip cache or version nagging in the layers.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /work

# Dependencies first, in their own layer keyed on pyproject.toml alone: editing the code or the
# templates does not reinstall pyarrow, duckdb and the Snowflake connector. Every dependency
# ships manylinux wheels, so the slim image needs no compiler.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the package itself. The wheel build force-includes templates/ and schemas/ inside
# manifest_loader/ (see pyproject.toml); README.md is the project's readme, which hatchling reads.
COPY README.md ./
COPY manifest_loader/ manifest_loader/
COPY templates/ templates/
COPY schemas/ schemas/
RUN pip install --no-deps . \
    && rm -rf pyproject.toml README.md manifest_loader templates schemas

# Run as an unprivileged user. The state folder is created here, owned by that user, so a named
# volume mounted on it (docker-compose.yml: loader-state) starts out writable by it: Docker copies
# an image folder's ownership into an empty named volume on first use.
RUN useradd --create-home --uid 10001 --user-group loader \
    && mkdir -p /work/.manifest-loader \
    && chown loader:loader /work /work/.manifest-loader
# Pinned so that a different `docker run -w` still finds the same stage, fakesnow DB and run ledger.
ENV MANIFEST_LOADER_STATE_DIR=/work/.manifest-loader
USER loader

ENTRYPOINT ["manifest-loader"]
CMD ["--help"]
