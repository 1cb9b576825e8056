"""The improvement program's runs and receipts from the operator CLI (`./dev cli program-...`):
extraction and deletion on demand (the same code as the daily schedules), a receipt, and the
receipt verifier, which needs only the public key. Wired in by cli_program.py."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .domain.models import Principal
    from .services.deps import Deps


def add_parsers(commands: Any) -> None:
    run = commands.add_parser("program-extract", help="an extraction run for one active use case, now")
    run.add_argument("use_case_id")
    run.add_argument("--technique", help="refused unless it is the one the use case declared")
    run.add_argument("--k", type=int, default=5, help="smallest group released in Tier 1 output (never below 5)")
    commands.add_parser("program-delete", help="the deletion run, now: open requests and retention's deletions")
    show = commands.add_parser("program-receipt", help="a deletion receipt, with the public key that verifies it")
    show.add_argument("receipt_id")
    check = commands.add_parser("program-verify-receipt",
                                help="verify a receipt (JSON file, '-': stdin); fails on any change")
    check.add_argument("file")
    check.add_argument("--public-key", help="the key, DER or PEM file (default: read from KMS)")


def _run(args: argparse.Namespace, me: Principal, deps: Deps) -> object:
    from . import bootstrap
    from .domain.errors import NotFound
    from .services import program_deletion, program_extraction

    program = bootstrap.program_deps()
    name: str = args.command
    if name == "program-extract":
        return program_extraction.extract(args.use_case_id, deps=program, technique=args.technique, k=args.k,
                                          actor=me.actor)
    if name == "program-delete":
        return program_deletion.run(deps=program)
    if name == "program-receipt":
        found = program.store.get_receipt(args.receipt_id)
        if found is None:
            raise NotFound("No receipt has that id.", code="receipt_not_found")
        return found.model_dump(mode="json") | {"public_key_der_b64": program_deletion.public_key_b64(program)}
    return _verify(args, program.signer.public_key_der if not args.public_key else None)


def _verify(args: argparse.Namespace, from_kms: Any) -> dict[str, Any]:
    from . import receipt_verify
    from .cli_program import _read
    from .domain.errors import InvalidInput
    from .domain.receipts import Receipt

    receipt = Receipt.model_validate(json.loads(_read(args.file)))
    key = from_kms() if from_kms else _load_key(Path(args.public_key).read_bytes())
    problem = receipt_verify.verify(receipt, key)
    if problem is not None:
        raise InvalidInput(f"The receipt does not verify: {problem.value}.", code=problem.value)
    return {"receipt_id": receipt.receipt_id, "entries": len(receipt.entries), "verified": True}


def _load_key(data: bytes) -> bytes:
    """A PEM file's key as DER (DER passes through)."""
    if data.lstrip().startswith(b"-----BEGIN"):
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_public_key(data)
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


NAMES = ("program-extract", "program-delete", "program-receipt", "program-verify-receipt")
OPERATIONS = dict.fromkeys(NAMES, _run)
