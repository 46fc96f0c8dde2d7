"""A list-item delegate drawn as a small card: badge, title, subtitle, right-hand notes, error.

Items carry their texts in roles (``TITLE`` is the display role). Used by the layer palette
and the layer stack, so both look alike. A compact card is one line when it fits; in a narrow
list its subtitle and right-hand note move to a second line rather than crowd the title out.
Text that still does not fit is elided ("…"); the item's tooltip says it in full. A card
with ``subtitle_lines`` > 1 (the palette) wraps its subtitle onto up to that many lines.
The keyboard's current item, when not selected, is outlined: where the arrow keys go on from.

A card's height depends only on its texts and the list's width (never on the rect Qt happens to
pass to ``sizeHint``), so the rows Qt lays out and the cards painted in them agree: an error
message gets the lines it needs and the card never reaches into the next row.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

TITLE = Qt.DisplayRole
SUBTITLE = Qt.UserRole + 1
RIGHT = Qt.UserRole + 2        # e.g. the output shape
RIGHT_SMALL = Qt.UserRole + 3  # e.g. the parameter count
ERROR = Qt.UserRole + 4        # shown in red under the card
BADGE = Qt.UserRole + 5        # e.g. the row number
ACCENT = Qt.UserRole + 6       # QColor of the stripe on the left
HEADER = Qt.UserRole + 7       # True: a section header, drawn as a caption

ERROR_COLOR = QColor("#c62828")
MUTED = QColor("#6b7280")


class CardDelegate(QStyledItemDelegate):
    def __init__(self, parent=None, compact: bool = False, subtitle_lines: int = 1):
        super().__init__(parent)
        self.compact = compact
        self.subtitle_lines = max(1, subtitle_lines)

    def _fonts(self, option):
        base = QFont(option.font)
        title = QFont(base)
        title.setBold(True)
        small = QFont(base)
        small.setPointSizeF(max(base.pointSizeF() - 1, 7))
        return base, title, small

    def _width(self, option) -> int:
        """The card's width: the list's (Qt passes sizeHint rects of varying widths, and a
        height computed from them would not match the row the card is painted in)."""
        view = self.parent()
        if view is not None and hasattr(view, "viewport"):
            return max(view.viewport().width() - 2 * getattr(view, "spacing", lambda: 0)(), 60)
        if option.rect.width() > 0:
            return option.rect.width()
        return 300

    @staticmethod
    def _text_left(index, small) -> int:
        """Where the texts start, from the card's left edge (after stripe and badge)."""
        x = 3 + 10
        if index.data(BADGE) is not None:
            x += QFontMetrics(small).horizontalAdvance("00") + 2 + 8
        return x

    def _error_height(self, index, width: int, small) -> int:
        """Height of the wrapped error text in a card ``width`` wide."""
        error_w = max(width - 4 - self._text_left(index, small) - 6, 40)
        return QFontMetrics(small).boundingRect(QRect(0, 0, error_w, 100_000),
                                                Qt.TextWordWrap, index.data(ERROR)).height()

    def _subtitle_lines(self, index, width: int, small, right_w: int = 0) -> list[str]:
        """The subtitle of a two-line (non-compact) card, wrapped at word boundaries onto at
        most ``subtitle_lines`` lines; the last one is elided if text remains."""
        sm = QFontMetrics(small)
        avail = max(width - 4 - self._text_left(index, small) - right_w - 4, 20)
        words = (index.data(SUBTITLE) or "").split()
        lines: list[str] = []
        while words and len(lines) < self.subtitle_lines:
            line = words.pop(0)
            while words and sm.horizontalAdvance(line + " " + words[0]) <= avail:
                line += " " + words.pop(0)
            lines.append(line)
        if words and lines:
            lines[-1] = sm.elidedText(lines[-1] + " " + " ".join(words), Qt.ElideRight, avail)
        return [sm.elidedText(line, Qt.ElideRight, avail) for line in lines]

    def _stacked(self, index, width: int, title_font, small) -> bool:
        """A compact card too narrow for its title and its right-hand note side by side: the
        note (the output shape) moves to the second line, so the layer's name stays whole
        (at 182 px, LeNet's cards read "…", "Co…", "Re…" beside "(16, 24, 24)")."""
        if not self.compact or not (index.data(RIGHT) or index.data(RIGHT_SMALL)):
            return False
        tm = QFontMetrics(title_font)
        base = QFont(title_font)
        base.setBold(False)                 # the note is drawn in the regular font
        avail = width - 4 - self._text_left(index, small) - 6
        return tm.horizontalAdvance(index.data(TITLE) or "") + 6 + \
            QFontMetrics(base).horizontalAdvance(index.data(RIGHT) or "") + 6 > avail

    def _two_lines(self, index, width: int, title_font, small) -> bool:
        """A compact card whose one line would not hold title, subtitle and right notes."""
        if not self.compact or not index.data(SUBTITLE):
            return False
        tm, sm = QFontMetrics(title_font), QFontMetrics(small)
        need = 10 + (sm.horizontalAdvance("00") + 10 if index.data(BADGE) is not None else 0)
        need += tm.horizontalAdvance(index.data(TITLE) or "") + 8
        need += sm.horizontalAdvance(index.data(SUBTITLE)) + 8
        right, right_small = index.data(RIGHT) or "", index.data(RIGHT_SMALL) or ""
        need += tm.horizontalAdvance(right) + (sm.horizontalAdvance(right_small) + 12
                                               if right_small else 0) + 14
        return need > width - 6

    def sizeHint(self, option, index):
        base, title, small = self._fonts(option)
        if index.data(HEADER):
            return QSize(100, QFontMetrics(small).height() + 10)
        width = self._width(option)
        h = QFontMetrics(title).height() + 12
        if self._stacked(index, width, title, small):
            h += QFontMetrics(title).height() + 1
        elif index.data(SUBTITLE) and (not self.compact or self._two_lines(
                index, width, title, small)):
            lines = 1 if self.compact else max(1, len(self._subtitle_lines(
                index, width, small, self._right_width(index, title, small))))
            h += lines * QFontMetrics(small).height() + 1
        if index.data(ERROR):
            h += self._error_height(index, width, small) + 4
        return QSize(100, h)

    def _paint_stacked(self, painter, index, pal, r, x, y, width, fonts) -> None:
        """Title alone on the first line; subtitle, parameter count and output shape on the
        second ("16, kernel size 3   416 w  (16, 26, 26)"), the subtitle elided first."""
        base, title_font, small = fonts
        tm, sm = QFontMetrics(title_font), QFontMetrics(small)
        painter.setFont(title_font)
        painter.setPen(pal.color(QPalette.Text))
        painter.drawText(QRect(x, y, r.right() - x - 6, tm.height()),
                         Qt.AlignLeft | Qt.AlignVCenter,
                         tm.elidedText(index.data(TITLE) or "", Qt.ElideRight,
                                       max(r.right() - x - 6, 10)))
        y2 = y + tm.height() + 1
        right, right_small = index.data(RIGHT) or "", index.data(RIGHT_SMALL) or ""
        end = r.right() - 6
        if right:
            painter.setFont(base)
            painter.drawText(QRect(x, y2, end - x, tm.height()), Qt.AlignRight | Qt.AlignVCenter,
                             right)
            end -= QFontMetrics(base).horizontalAdvance(right) + 8
        painter.setFont(small)
        painter.setPen(MUTED)
        if right_small and sm.horizontalAdvance(right_small) <= end - x:
            painter.drawText(QRect(x, y2, end - x, tm.height()), Qt.AlignRight | Qt.AlignVCenter,
                             right_small)
            end -= sm.horizontalAdvance(right_small) + 8
        sub = index.data(SUBTITLE)
        if sub and end - x > 20:
            painter.drawText(QRect(x, y2, end - x, tm.height()), Qt.AlignLeft | Qt.AlignVCenter,
                             sm.elidedText(sub, Qt.ElideRight, end - x))
        error = index.data(ERROR)
        if error:
            painter.setPen(ERROR_COLOR)
            top = y2 + tm.height() + 3
            error_w = max(width - 4 - self._text_left(index, small) - 6, 40)
            painter.drawText(QRect(x, top, error_w, r.bottom() - top),
                             Qt.TextWordWrap | Qt.AlignLeft | Qt.AlignTop, error)

    @staticmethod
    def _right_width(index, title_font, small) -> int:
        """Width kept for the right-hand notes of a two-line card."""
        right, right_small = index.data(RIGHT) or "", index.data(RIGHT_SMALL) or ""
        if not (right or right_small):
            return 0
        return max(QFontMetrics(title_font).horizontalAdvance(right),
                   QFontMetrics(small).horizontalAdvance(right_small)) + 8

    def paint(self, painter: QPainter, option, index):
        painter.save()
        painter.setClipRect(option.rect)     # a card never paints over its neighbours
        painter.setRenderHint(QPainter.Antialiasing)
        base, title_font, small = self._fonts(option)
        pal = option.palette
        r = option.rect.adjusted(3, 2, -3, -2)
        if index.data(HEADER):
            painter.setFont(small)
            painter.setPen(MUTED)
            f = QFont(small)
            f.setBold(True)
            f.setCapitalization(QFont.AllUppercase)
            f.setLetterSpacing(QFont.PercentageSpacing, 108)
            painter.setFont(f)
            painter.drawText(r.adjusted(6, 4, 0, 0), Qt.AlignLeft | Qt.AlignVCenter,
                             index.data(TITLE))
            painter.restore()
            return
        selected = bool(option.state & QStyle.State_Selected)
        hovered = bool(option.state & QStyle.State_MouseOver)
        focused = bool(option.state & QStyle.State_HasFocus)    # the keyboard's current item
        error = index.data(ERROR)
        bg = pal.color(QPalette.Base)
        border = QColor("#d6dae1")
        if selected:
            bg = QColor("#e3edfb")
            border = QColor("#3d7bd9")
        elif hovered:
            bg = QColor("#f3f6fa")
        if focused and not selected:
            border = QColor("#3d7bd9")          # outlined only: where the arrow keys go on
        if error:
            border = ERROR_COLOR
            if not selected:
                bg = QColor("#fdf1f1")
        painter.setPen(QPen(border, 1.2 if (selected or focused or error) else 1))
        painter.setBrush(bg)
        painter.drawRoundedRect(r, 5, 5)
        accent = index.data(ACCENT)
        if accent is not None:
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor(accent))
            painter.drawRoundedRect(QRect(r.left(), r.top(), 4, r.height()), 2, 2)
        x = r.left() + 10
        tm = QFontMetrics(title_font)
        sm = QFontMetrics(small)
        y = r.top() + 5
        badge = index.data(BADGE)
        if badge is not None:
            painter.setFont(small)
            painter.setPen(MUTED)
            bw = sm.horizontalAdvance("00") + 2
            painter.drawText(QRect(x, y, bw, tm.height()), Qt.AlignRight | Qt.AlignVCenter,
                             str(badge))
            x += bw + 8
        right = index.data(RIGHT) or ""
        right_small = index.data(RIGHT_SMALL) or ""
        right_w = 0
        width = self._width(option)        # the width sizeHint measured the card for
        if self._stacked(index, width, title_font, small):
            self._paint_stacked(painter, index, pal, r, x, y, width, (base, title_font, small))
            painter.restore()
            return
        compact = self.compact and not self._two_lines(index, width, title_font, small)
        if compact:
            # one line: "100,480 w   (128,)"
            right_w = tm.horizontalAdvance(right) + (sm.horizontalAdvance(right_small) + 12
                                                     if right_small else 0) + 8
        elif right or right_small:
            right_w = max(tm.horizontalAdvance(right), sm.horizontalAdvance(right_small)) + 8
        # title line
        painter.setFont(title_font)
        painter.setPen(pal.color(QPalette.Text))
        title = index.data(TITLE) or ""
        title_w = r.right() - x - right_w
        painter.drawText(QRect(x, y, title_w, tm.height()), Qt.AlignLeft | Qt.AlignVCenter,
                         tm.elidedText(title, Qt.ElideRight, max(title_w, 10)))
        sub = index.data(SUBTITLE)
        if sub:
            painter.setPen(MUTED)
            if compact:
                painter.setFont(small)
                tx = x + tm.horizontalAdvance(title) + 8
                text = sm.elidedText(sub, Qt.ElideRight, max(r.right() - tx - right_w, 10))
                painter.drawText(QRect(tx, y, max(r.right() - tx - right_w, 10), tm.height()),
                                 Qt.AlignLeft | Qt.AlignVCenter, text)
            else:
                painter.setFont(small)
                lines = self._subtitle_lines(index, width, small, right_w)
                for k, text in enumerate(lines):
                    painter.drawText(QRect(x, y + tm.height() + 1 + k * sm.height(),
                                           r.right() - x - right_w, sm.height()),
                                     Qt.AlignLeft | Qt.AlignVCenter, text)
        if right:
            painter.setFont(base)
            painter.setPen(pal.color(QPalette.Text))
            painter.drawText(QRect(r.right() - right_w, y, right_w - 6, tm.height()),
                             Qt.AlignRight | Qt.AlignVCenter, right)
        if right_small:
            painter.setFont(small)
            painter.setPen(MUTED)
            if compact:
                rw = tm.horizontalAdvance(right) + 12 if right else 0
                painter.drawText(QRect(r.right() - right_w, y, right_w - 6 - rw, tm.height()),
                                 Qt.AlignRight | Qt.AlignVCenter, right_small)
            else:
                painter.drawText(QRect(r.right() - right_w, y + tm.height() + 1, right_w - 6,
                                       sm.height()), Qt.AlignRight | Qt.AlignVCenter,
                                 right_small)
        if error:
            painter.setFont(small)
            painter.setPen(ERROR_COLOR)
            top = y + tm.height() + (sm.height() + 1 if sub and not compact else 0) + 3
            if sub and not compact and self.subtitle_lines > 1:
                top += (len(self._subtitle_lines(index, width, small, right_w)) - 1) * \
                    sm.height()
            error_w = max(width - 4 - self._text_left(index, small) - 6, 40)
            painter.drawText(QRect(x, top, error_w, r.bottom() - top),
                             Qt.TextWordWrap | Qt.AlignLeft | Qt.AlignTop, error)
        painter.restore()
