"""A Presidio pattern recognizer whose patterns, context and entity are class constants."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DeclaredPatternRecognizer"]


class DeclaredPatternRecognizer(PatternRecognizer):
    """Base of leakmon's pattern recognizers: a subclass reads like a declaration.

    A subclass sets ``ENTITY``, ``PATTERNS`` and ``CONTEXT`` (and may override the
    validation hooks); every ``__init__`` argument defaults to those constants, so
    ``SomeRecognizer()`` builds the shipped recognizer and a test can swap one part.
    """

    ENTITY: ClassVar[str] = ""
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    CONTEXT: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        patterns: Sequence[Pattern] | None = None,
        context: Sequence[str] | None = None,
        supported_entity: str | None = None,
        supported_language: str = "en",
        name: str | None = None,
    ) -> None:
        super().__init__(
            supported_entity=supported_entity or self.ENTITY,
            name=name or type(self).__name__,
            supported_language=supported_language,
            # Copies: PatternRecognizer appends to its list, and the tuples are shared.
            patterns=list(self.PATTERNS if patterns is None else patterns),
            context=list(self.CONTEXT if context is None else context),
        )
