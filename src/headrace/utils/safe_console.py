"""A Rich console that never sends a control character of its content to the terminal.

Every Rich console headrace prints with (the CLI's, the live run progress) is one of these,
so no printer needs to remember to escape names.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RichCast
from rich.segment import Segment

from headrace.utils.names import terminal_safe


class SafeConsole(Console):
    """A console that never sends a control character of its content to the terminal.

    Names printed by the CLI come from users, run configurations, snapshot triggers and
    step output; an ANSI escape in one could recolour, clear or rewrite the screen. Every
    segment of text is passed through :func:`terminal_safe` as it is rendered, so every
    printer (tables, trees, messages, errors, logs) is covered by this one place, while the
    console's own styling (added later, from styles) still works.
    """

    def render(
        self, renderable: ConsoleRenderable | RichCast | str, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            text = segment.text
            if segment.control is None and text and terminal_safe(text) is not text:
                yield Segment(terminal_safe(text), segment.style)
            else:
                yield segment
