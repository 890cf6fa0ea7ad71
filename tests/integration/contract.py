"""The API contract: every HTTP response the integration tests receive is
checked against docs/openapi.yaml, so the description cannot drift from
what upshotd sends.

    contract.check("GET", "/v1/assign?visitor=v1", 200, headers, body)

raises ContractError naming the mismatch: a path, method or status the
description does not list for that route, a content type it does not
list, a body that does not match the response's schema (JSON Schema
2020-12, as OpenAPI 3.1 says), a documented response header with a value
outside its schema, or a body on a reply that has none (HEAD, 204).

Two replies cannot be described per operation, and are checked here
against the rules the description's info.description states: a path that
is no endpoint answers 404 with an Error body; a method a path does not
take answers 405 with an Error body and an Allow header (or, on the admin
surface without a token, 401; with a malformed path key, 404).

Uses Debian's python3-yaml and python3-jsonschema (tools/install-deps).
"""
import json
import os
import re
import urllib.parse

import jsonschema
import yaml

SPEC_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "docs", "openapi.yaml")
METHODS = ("get", "head", "post", "put", "delete", "options", "patch")


class ContractError(AssertionError):
    pass


class Contract:
    def __init__(self, path=SPEC_PATH):
        with open(path, encoding="utf-8") as f:
            self.spec = yaml.safe_load(f)
        self.resolver = jsonschema.RefResolver.from_schema(self.spec)
        # A schema that is not JSON Schema would check nothing, or crash
        # mid-test: refuse the description up front.
        for name, schema in self.spec["components"]["schemas"].items():
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as e:
                raise ContractError(f"{path}: schema {name} is not valid JSON Schema: {e.message}")
        self.routes = []
        for template, item in self.spec["paths"].items():
            pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
            self.routes.append((re.compile(pattern), template, item))
        self.error_schema = {"$ref": "#/components/schemas/Error"}

    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def validate(self, instance, schema, where):
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            at = "/".join(str(p) for p in first.absolute_path) or "(the body)"
            raise ContractError(f"{where}: the body does not match its schema at {at}: "
                                f"{first.message[:400]}")

    def json_body(self, body, where):
        try:
            return json.loads(body)
        except ValueError as e:
            raise ContractError(f"{where}: the body is not JSON ({e}): {body[:200]!r}")

    def check_error(self, headers, body, where):
        ctype = headers.get("content-type", "")
        if ctype.split(";")[0].strip() != "application/json":
            raise ContractError(f"{where}: an error must be application/json, got {ctype!r}")
        self.validate(self.json_body(body, where), self.error_schema, where)

    def check(self, method, target, status, headers, body):
        """Checks one response (headers with lower-case names, body as
        text). Raises ContractError; returns the matched path template."""
        method = method.lower()
        path = urllib.parse.urlsplit(target).path
        where = f"{method.upper()} {path} -> {status}"
        for pattern, template, item in self.routes:
            if pattern.match(path):
                break
        else:
            if status != 404:
                raise ContractError(f"{where}: {path} is no documented path, so the answer must be 404")
            self.check_error(headers, body, where)
            return None
        where = f"{method.upper()} {template} -> {status}"
        op = item.get(method)
        if op is None:
            admin = any("admin" in req for m in METHODS if m in item
                        for req in item[m].get("security", []))
            allowed = {405, 404} | ({401} if admin else set())
            if status not in allowed:
                raise ContractError(f"{where}: {template} takes no {method.upper()}: "
                                    f"expected one of {sorted(allowed)}")
            if status == 405 and "allow" not in headers:
                raise ContractError(f"{where}: a 405 without an Allow header")
            if method != "head":
                self.check_error(headers, body, where)
            return template
        responses = op.get("responses", {})
        response = responses.get(str(status))
        if response is None:
            raise ContractError(f"{where}: status {status} is not documented for "
                                f"{op.get('operationId')} (documented: {sorted(responses)})")
        response = self.deref(response)
        for name, header in (response.get("headers") or {}).items():
            value = headers.get(name.lower())
            header = self.deref(header)
            if value is None:
                if header.get("required"):
                    raise ContractError(f"{where}: the required header {name} is missing")
                continue
            schema = header.get("schema", {})
            if self.deref(schema).get("type") == "integer":
                if not re.fullmatch(r"[0-9]+", value):
                    raise ContractError(f"{where}: header {name}: {value!r} is not an integer")
                value = int(value)
            self.validate(value, schema, f"{where} (header {name})")
        content = response.get("content")
        if method == "head" or not content:
            if body:
                raise ContractError(f"{where}: a reply without content sent a body: {body[:200]!r}")
            return template
        ctype = headers.get("content-type")
        if ctype is None:
            raise ContractError(f"{where}: no Content-Type (documented: {sorted(content)})")
        norm = ";".join(p.strip() for p in ctype.split(";"))
        media = next((v for k, v in content.items()
                      if ";".join(p.strip() for p in k.split(";")) == norm), None)
        if media is None:
            raise ContractError(f"{where}: Content-Type {ctype!r} is not documented "
                                f"(documented: {sorted(content)})")
        schema = media.get("schema")
        if schema is None:
            return template
        if norm.startswith("application/json"):
            self.validate(self.json_body(body, where), schema, where)
        else:
            self.validate(body, schema, where)
        return template


_contract = None


def check(method, target, status, headers, body):
    """Module-level check against docs/openapi.yaml (loaded once)."""
    global _contract
    if _contract is None:
        _contract = Contract()
    return _contract.check(method, target, status, headers, body)
