"""Keyed pseudonyms for customer ids in exports (HMAC-SHA256), and the key they come from.

What this protects: a campaign file, a segment table or a model export with pseudonyms instead
of customer ids cannot be joined back to the customers without the key. The same key gives the
same pseudonym in every run (exports of different days join on it); another key gives unrelated
pseudonyms. The key is read from a file or an environment variable and is never written beside
the output.

What it does not protect: anyone holding the key can recompute a customer's pseudonym from
their id and so recognise them; pseudonymised data is still personal data under the GDPR
(recital 26), only safer to move around. Other columns can identify a customer on their own
(a rare product, a purchase time, a message that names them): choose the exported columns for
that too, and suppress statistics of small groups (``rf.customers.profile(min_size=...)``).
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

import numpy as np

from .._checks import check_int
from .._factorize import id_texts

KEY_ENV = "RECFORGE_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16


def load_key(path=None, env: str = KEY_ENV) -> bytes:
    """The pseudonym key: the bytes of the file at ``path`` (one trailing line ending dropped), else
    the environment variable ``env`` (UTF-8).

    Raises
    ------
    ValueError
        No key found, or one shorter than 16 bytes (a short key can be guessed by trying them
        all); the message says how to make one.
    """
    if path is not None:
        try:
            key = Path(path).read_bytes()
        except OSError as e:
            raise ValueError(f"pseudonym key file {str(path)!r} cannot be read: {e.strerror or e}") from None
        # one line ending dropped, Windows' too: the same key file edited on either system
        # must give the same pseudonyms
        key = key[:-2] if key.endswith(b"\r\n") else key[:-1] if key.endswith(b"\n") else key
        source = f"key file {str(path)!r}"
    else:
        value = os.environ.get(env)
        if value is None:
            raise ValueError(
                f"no pseudonym key: set {env} or give a key file "
                '(make one with: python -c "import secrets; print(secrets.token_hex(32))" > key.txt)'
            )
        key, source = value.encode("utf-8"), f"environment variable {env}"
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the {source} holds {len(key)} bytes; a pseudonym key needs at least {MIN_KEY_BYTES}")
    return key


def pseudonymise(ids, key: bytes, length: int = 32) -> np.ndarray:
    """Stable keyed pseudonyms: the first ``length`` hex digits of HMAC-SHA256(key, id as text).

    Ids are hashed as their text (``str(id)``, UTF-8): 5 and "5" get the same pseudonym, and so
    do 17850.0 and "17850.0" (an integer id column with a gap, as pandas writes it), which are
    read as 17850 here as everywhere in recforge: the campaign file names that customer 17850.
    32 hex digits (128 bits) make a collision between two customers practically impossible;
    fewer are refused below 16.

    Parameters
    ----------
    ids : array-like
        Customer ids (any values with a text form).
    key : bytes
        From :func:`load_key` (at least 16 bytes).
    length : int, default 32
        Hex digits kept, 16 to 64.

    Returns
    -------
    numpy.ndarray of str
        The shape of ``ids``. A missing id (None, NaN) raises ValueError: as text, every such
        customer would share one pseudonym.

    Examples
    --------
    >>> import recforge as rf
    >>> key = b"a key of at least sixteen bytes"
    >>> p = rf.campaign.pseudonymise(["c1", "c2", "c1"], key)
    >>> p[0] == p[2], p[0] == p[1], len(p[0])
    (True, False, 32)
    """
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"key must be bytes (see load_key), got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"key must be at least {MIN_KEY_BYTES} bytes (see load_key), got {len(key)}")
    length = check_int(length, "length", minimum=16)
    if length > 64:
        raise ValueError(f"length must be at most 64 hex digits (SHA-256), got {length}")
    key = bytes(key)
    texts = id_texts(ids)
    return np.array(
        [hmac.digest(key, t.encode("utf-8"), "sha256").hex()[:length] for t in texts.ravel().tolist()],
        dtype=f"<U{length}",
    ).reshape(texts.shape)
