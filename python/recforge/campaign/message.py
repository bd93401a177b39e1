"""Personalised message text from templates (Jinja2, sandboxed): the greeting, segment-aware
copy, the recommended products with descriptions and the reason, in whatever language the
template is written (UTF-8 throughout).

A template sees, per customer: ``customer`` (the id or pseudonym written to the file),
``segment`` (when a segment table was given, else None), ``items`` (a list of dicts: ``rank``,
``item``, ``description``, ``score``, ``reason``, ``path``) and any extra fields the caller
adds. Undefined names are errors, not blanks: a typo in a template stops the run instead of
sending a broken message. Templates run in Jinja2's sandbox: they cannot reach Python
internals, so a template from a marketing tool is safe to render.
"""

from __future__ import annotations

from importlib import resources

DEFAULT_TEMPLATE = "default.txt"


def _jinja():
    try:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment
    except ImportError:  # pragma: no cover - exercised without the extra
        raise ImportError('messages need Jinja2: pip install "recforge[message]"') from None
    return SandboxedEnvironment, StrictUndefined


def default_template() -> str:
    """The English template shipped with recforge (segment-aware greeting, numbered products
    with their reason)."""
    return resources.files("recforge.campaign").joinpath("templates", DEFAULT_TEMPLATE).read_text(encoding="utf-8")


class MessageTemplate:
    """A compiled message template.

    Parameters
    ----------
    source : str
        Jinja2 template text.
    autoescape : bool, default False
        Escape HTML in the values (for HTML e-mail templates); plain text otherwise.

    Attributes
    ----------
    source, autoescape
        As given. A template pickles as these (and is compiled again), so it can be sent to
        worker processes.

    Examples
    --------
    >>> import recforge as rf
    >>> t = rf.campaign.MessageTemplate("Hej {{ customer }}! {% for i in items %}{{ i.description }} {% endfor %}")
    >>> t.render({"customer": "Åsa", "items": [{"description": "Kaffekopp"}]})
    'Hej Åsa! Kaffekopp '
    """

    def __init__(self, source: str, autoescape: bool = False):
        if not isinstance(source, str):
            raise TypeError(f"source must be the template text (str), got {type(source).__name__}")
        Sandboxed, Strict = _jinja()
        from jinja2 import TemplateSyntaxError

        env = Sandboxed(undefined=Strict, autoescape=bool(autoescape), keep_trailing_newline=True)
        try:
            self._template = env.from_string(source)
        except TemplateSyntaxError as e:
            raise ValueError(f"message template, line {e.lineno}: {e.message}") from None
        self.source, self.autoescape = source, bool(autoescape)

    # A compiled Jinja2 template holds generated code that does not pickle: the text does, and
    # is compiled again on arrival (multiprocessing, joblib and Dask workers pickle what they
    # are sent).
    def __reduce__(self):
        return (type(self), (self.source, self.autoescape))

    def render(self, context: dict) -> str:
        """The message for one customer's ``context``; any failure of the template (an undefined
        name, an error in its expressions) is a ValueError saying what failed."""
        from jinja2 import TemplateError

        try:
            return self._template.render(**context)
        except TemplateError as e:
            raise ValueError(f"message template: {e}") from None
        except Exception as e:  # the template's own code failed ({{ 1/0 }}, "a" + 1, an include)
            raise ValueError(f"message template: {type(e).__name__}: {e}") from None

    def render_all(self, contexts) -> list:
        """One message per context, in order."""
        return [self.render(c) for c in contexts]
