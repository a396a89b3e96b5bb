"""Preflight: every input a command needs, checked before any work, each problem one line.

A run loads models and trains for minutes; a bad input found after that wastes the minutes and
often leaves a traceback. Everything that can be checked without the work is checked here first:
numbers in range, output paths writable and not holding another run, the model folder's config,
weights and tokenizer, and the judge endpoint (shape, then one tiny request).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

SEED_MAX = 2**32 - 1  # every seeded library here takes it; parquet stores it as int64
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "model*.safetensors.index.json", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json")


def number(flag: str, text: str, *, positive: bool = False, minimum: float | None = None,
           shown: str | None = None) -> float:
    """A finite float from a flag's text: nan, inf and out-of-range values are input errors.
    `shown`: how the error names the value (default: the text itself)."""
    where = f"{flag} {shown or text}"
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise HarnessError(f"{where}: not a number") from None
    if not math.isfinite(value):
        raise HarnessError(f"{where}: expected a finite number")
    if positive and value <= 0:
        raise HarnessError(f"{where}: expected a number above 0")
    if minimum is not None and value < minimum:
        raise HarnessError(f"{where}: expected a number of at least {minimum:g}")
    return value


def seed(flag: str, value: int) -> int:
    if not 0 <= value <= SEED_MAX:
        raise HarnessError(f"{flag} {value}: expected a seed from 0 to {SEED_MAX}")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise HarnessError(f"--port {text}: not a whole number") from None
    if not 1 <= value <= 65535:
        raise HarnessError(f"--port {text}: expected a port from 1 to 65535")
    return value


# ----------------------------------------------------------------------------- paths
def _writable_dir(flag: str, folder: Path, shown: str | None = None) -> None:
    """Prove that `folder` can be written (a file created and removed in it), or, while it does not
    exist yet, that it can be created: nothing is left behind either way."""
    shown = shown or str(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise HarnessError(f"{flag} {shown}: cannot write there (Not a directory)")
    if existing != folder:
        if not os.access(existing, os.W_OK | os.X_OK):
            raise HarnessError(f"{flag} {shown}: cannot write there (Permission denied)")
        return
    try:
        fd, probe = tempfile.mkstemp(prefix=".harness-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise HarnessError(f"{flag} {shown}: cannot write there ({exc.strerror or type(exc).__name__})") from None


def _given_path(flag: str, raw: str, what: str) -> Path:
    if not raw.strip():
        raise HarnessError(f"{flag}: empty path; name a {what}")
    return Path(raw).expanduser()


def output_folder(flag: str, raw: str | None) -> Path | None:
    """A folder to write into (None: the command's default): not '', not a file, writable."""
    if raw is None:
        return None
    folder = _given_path(flag, raw, "folder")
    if folder.exists() and not folder.is_dir():
        raise HarnessError(f"{flag} {raw}: is a file, not a folder")
    _writable_dir(flag, folder, raw)
    return folder


def output_file(flag: str, raw: str | None) -> Path | None:
    """A file to write (None: the command's default): not '', not a folder, in a writable folder."""
    if raw is None:
        return None
    path = _given_path(flag, raw, "file")
    if path.is_dir():
        raise HarnessError(f"{flag} {raw}: is a folder; name the file to write")
    _writable_dir(flag, path.parent, raw)
    return path


# ----------------------------------------------------------------------------- model
def model_folder(arg: str, folder: Path) -> None:
    """A local Hugging Face folder has a JSON config naming its architecture, weights and a tokenizer."""
    config = folder / "config.json"
    try:
        data: Any = json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"--model {arg}: not a Hugging Face model folder (no config.json)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise HarnessError(f"--model {arg}: config.json is not valid JSON ({why})") from None
    except OSError as exc:
        raise HarnessError(f"--model {arg}: config.json cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        raise HarnessError(f"--model {arg}: config.json has no model_type (not a transformers model config)")
    if not any(next(folder.glob(pattern), None) for pattern in WEIGHT_FILES):
        raise HarnessError(f"--model {arg}: no weights in the folder (expected *.safetensors or pytorch_model*.bin)")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise HarnessError(f"--model {arg}: no tokenizer in the folder (expected {' or '.join(TOKENIZER_FILES[:3])})")


# ----------------------------------------------------------------------------- judge
def judge_url(url: str) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise HarnessError(f"--judge {url}: expected the base URL of an OpenAI-compatible API, "
                           "e.g. http://127.0.0.1:8000/v1")
    try:
        parsed.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise HarnessError(f"--judge {url}: the port is not a number from 0 to 65535") from None
    return url.rstrip("/")


def judge_answers(base_url: str, model: str, key: str, timeout_s: float = 15.0) -> None:
    """One tiny chat request: an endpoint that is down, wrong or refuses the key fails here, not after training."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Reply with OK."}],
                       "max_tokens": 1, "temperature": 0}).encode()
    req = urllib.request.Request(f"{base_url}/chat/completions", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - the user's own endpoint
            reply = json.loads(resp.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        raise HarnessError(f"--judge {base_url}: the endpoint answered HTTP {exc.code} to a test request "
                           f"for model {model}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HarnessError(f"--judge {base_url}: no answer from the endpoint ({reason})") from None
    except json.JSONDecodeError:
        raise HarnessError(f"--judge {base_url}: the endpoint's answer is not JSON (not an OpenAI-compatible API)") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list):
        raise HarnessError(f"--judge {base_url}: the answer has no 'choices' (not an OpenAI-compatible chat API)")
