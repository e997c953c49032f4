"""Schemathesis hooks for scripts/api-conformance.

The served OpenAPI document states every rule of the API that JSON Schema can state, and the
API checks bodies against that same document. Two rules it cannot state; these hooks keep
the generated requests within them, and nothing else:

- the sources of a pipeline spec have unique ids (JSON Schema can say that whole items are
  unique, not one key of them): duplicated ids get a suffix;
- an object store's option values follow each option's own grammar (a checksum algorithm,
  a duration …; the document names the options and their JSON types only), and Azure needs
  an account from an option or the environment: generated options are dropped, and an
  Azure source gets an account name.
"""

import json
import os
import urllib.request

import schemathesis


def _option_names():
    """The option names the served document gives each data-source type."""
    request = urllib.request.Request(
        os.environ["COLLECTORS_API_URL"] + "/api/openapi.json",
        headers={"Authorization": "Bearer " + os.environ["COLLECTORS_API_BEARER"]},
    )
    with urllib.request.urlopen(request) as answer:
        schemas = json.load(answer)["components"]["schemas"]
    names = {}
    for name, schema in schemas.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "DataSourceBody" and parts[2] == "config":
            names[parts[1]] = set(schema.get("properties", {})) - {"uri"}
    return names


OPTIONS = _option_names()


def _unique_source_ids(spec):
    if not isinstance(spec, dict) or not isinstance(spec.get("source"), list):
        return
    seen = set()
    for i, source in enumerate(spec["source"]):
        if isinstance(source, dict) and isinstance(source.get("id"), str):
            while source["id"] in seen:
                source["id"] = f"{source['id']}-{i}"
            seen.add(source["id"])


def _requests(body):
    if isinstance(body, dict) and isinstance(body.get("requests"), list):
        return [r for r in body["requests"] if isinstance(r, dict)]
    return [body] if isinstance(body, dict) else []


@schemathesis.hook
def map_body(ctx, body):
    path = ctx.operation.path if ctx.operation is not None else ""
    if path.startswith("/api/pipelines/"):
        _unique_source_ids(body)
    elif path.startswith("/api/etl/process"):
        for request in _requests(body):
            reference = request.get("pipeline")
            if isinstance(reference, dict):
                _unique_source_ids(reference.get("spec"))
    elif path.startswith("/api/data-sources") and isinstance(body, dict):
        config = body.get("config")
        if isinstance(config, dict):
            # Only documented options with values of a documented type: anything else is
            # what a negative case is made of, and stays.
            known = OPTIONS.get(body.get("type"), set())
            for key in [k for k, v in config.items() if k in known
                        and isinstance(v, (str, bool, int, float))]:
                del config[key]
            # Azure needs an account, given as an option or in the environment.
            if body.get("type") == "azure_blob":
                config["azure_storage_account_name"] = "collectors"
    return body
