"""The protocol heading of a leaderboard table, as (label, text) pairs.

The pairs are plain text; the Markdown and HTML renderers escape them.
"""

from __future__ import annotations

import json
from typing import Any

#: Hash prefixes are shortened to this many hex digits for display.
_SHA_PREFIX = 12


def protocol_lines(protocol: dict[str, Any], key: str) -> list[tuple[str, str]]:
    """Human-readable lines for the comparison-relevant fields of ``protocol``."""
    fingerprint = protocol.get("dataset_fingerprint")
    dataset = str(protocol.get("dataset", "?"))
    if fingerprint:
        dataset += f" (fingerprint {str(fingerprint)[:_SHA_PREFIX]})"
    return [
        ("dataset", dataset),
        ("reference split", _compact(protocol.get("reference_split"))),
        (
            "samples",
            f"n_real={_compact(protocol.get('n_real'))}, n_fake={_compact(protocol.get('n_fake'))}",
        ),
        ("feature space", _feature_space(protocol.get("feature_extractor"))),
        ("preprocessing", _compact(protocol.get("preprocessing"))),
        ("metric params", _metric_params(protocol.get("metric_params"))),
        ("eval protocol version", _compact(protocol.get("eval_protocol_version"))),
        ("comparison key", key),
    ]


def _feature_space(extractor: dict[str, Any] | None) -> str:
    if not extractor:
        return "none (metrics on raw values)"
    details = [f"extractor {extractor.get('name', '?')}"]
    sha = extractor.get("weights_sha256")
    details.append(f"weights sha256 {str(sha)[:_SHA_PREFIX]}" if sha else "weights sha256 unknown")
    accuracy = extractor.get("test_accuracy")
    if isinstance(accuracy, (int, float)):
        details.append(f"evaluator test accuracy {accuracy:.4f}")
    return f"{extractor.get('space', '?')} ({', '.join(details)})"


def _metric_params(params: dict[str, Any] | None) -> str:
    if not params:
        return "defaults"
    parts = []
    for metric, values in sorted(params.items()):
        parts.append(f"{metric}: {_compact(values) if values else 'defaults'}")
    return "; ".join(parts)


def _compact(value: Any) -> str:
    """``{"a": 1, "b": [1, 2]}`` -> ``"a=1, b=[1, 2]"``; None -> ``"-"``."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_compact(v)}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), default=str)
    return str(value)
