"""One Tableau view, one viz session: open it as a browser does and fetch what it offers.

The flow (sources in ``monitor.crawl.tableau.urls``): the view page's
``tsConfigContainer`` (or, on newer servers, ``startSession/viewing``) gives the
session and its permission flags; ``bootstrapSession`` gives the worksheets,
their ``viewId``s and the data dictionary. Then, per worksheet, the full data
(``vudcsv`` CSV, or the ``get-underlying-data`` command with every row and
column), the crosstab (dialog → export → tempfile), and the packaged workbook.

Every download becomes a watched resource named by ``ViewRef.identity`` and
checked by content (session URLs and POSTs have no ETag). What the session
could not read is said, never taken for clean: the resource gets a "could not
check (why)" finding, the poll is incomplete, and a metric counts it. A
mechanism the view does not offer (its permission is off) is recorded as such,
and is fine.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from monitor.crawl.outcomes import DOWNLOAD_ERRORS, describe, is_page, is_too_large
from monitor.crawl.tableau.deliver import Delivery
from monitor.crawl.tableau.urls import Session, form_request, get_request
from monitor.errors import TableauProtocolError
from monitor.models import ViewExposure
from monitor.vizql import commands
from monitor.vizql.bootstrap import parse_bootstrap
from monitor.vizql.fastload import load_answer
from monitor.vizql.framing import parse_object
from monitor.vizql.segments import merge_segments
from monitor.vizql.session import parse_config_page, parse_start_session

if TYPE_CHECKING:
    from collections.abc import Coroutine, Iterator, Mapping
    from typing import Any

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from monitor.crawl.poll import PollState
    from monitor.crawl.tableau.urls import ViewRef
    from monitor.vizql.bootstrap import Bootstrap

__all__ = ["Unchecked", "ViewSession"]

logger = logging.getLogger(__name__)

#: Answers that mean "not for this visitor": the mechanism is not offered.
_REFUSED = (401, 403, 404, 410)


class Unchecked(Exception):
    """What stopped a download or the session; ``reason`` is a bounded metric label."""

    def __init__(self, reason: str, why: str) -> None:
        super().__init__(why)
        self.reason = reason
        self.why = why


class ViewSession:
    """Open one view's session and fetch every download it offers this poll."""

    def __init__(
        self, crawler: Crawler, state: PollState, view: ViewRef, policy: Mapping[str, object]
    ) -> None:
        self.crawler = crawler
        self.state = state
        self.view = view
        self.policy = policy
        self.deliver = Delivery(state, view)
        self.offers: list[str] = []
        self.permissions: dict[str, bool] = {}
        # The session's data dictionary so far: each answer numbers its values after
        # every value the session already received (tableau-scraping ``updateFullData``).
        self.segments: dict[str, Any] = {}

    async def run(self) -> None:
        """Run the session; report the view's exposure, or why it could not be checked."""
        view, state = self.view, self.state
        state.seen.add(view.url)
        try:
            session = await self._open()
            boot = await self._bootstrap(session)
        except Unchecked as exc:
            self._unchecked(view.url, "session", exc)
            return
        self.permissions.update(session.config.permissions)
        self.permissions.update(boot.permissions)
        self.segments = merge_segments(boot.segments)
        if self._allowed("allow_summary"):
            self.offers.append("summary_data")
        for sheet in boot.worksheets:
            await self._step("full_data", sheet, self._full_data(session, boot, sheet))
        await self._step("crosstab", view.sheet, self._crosstab(session))
        await self._step("workbook", view.sheet, self._workbook())
        forbidden = tuple(m for m in self.offers if self.policy.get(m) == "forbidden")
        exposure = ViewExposure(
            target=state.target,
            url=view.url,
            view=view.name,
            offers=tuple(dict.fromkeys(self.offers)),
            permissions=tuple(sorted(self.permissions.items())),
            forbidden=tuple(dict.fromkeys(forbidden)),
        )
        logger.info(
            "target=%s Tableau view %s offers %s (flags: %s)",
            state.target,
            view.name,
            ", ".join(exposure.offers) or "nothing",
            ", ".join(f"{k}={v}" for k, v in exposure.permissions) or "none",
        )
        state.hooks.on_exposure(exposure)

    # -- session ---------------------------------------------------------------------------

    async def _open(self) -> Session:
        view = self.view
        page = await self._get(
            view.page, referer=view.referer, accept="text/html", what="view page"
        )
        if page.status in _REFUSED:
            raise Unchecked("refused", f"the view page answers HTTP {page.status}")
        if page.status != 200:
            raise Unchecked("http", f"the view page answers HTTP {page.status}")
        text = page.body.decode(_charset(page), errors="replace")
        with _shaped("unknown session config"):
            config = parse_config_page(text)
            if config is None:  # newer servers: the config comes by XHR
                started = await self._post(
                    view.start_session,
                    b"",
                    "application/x-www-form-urlencoded",
                    sheet_id=None,
                    what="startSession",
                )
                if started.status in _REFUSED:
                    raise Unchecked("refused", f"startSession answers HTTP {started.status}")
                if started.status != 200 or is_page(started.headers):
                    raise Unchecked(
                        "shape",
                        "the view page has no session config and startSession"
                        f" answers {_answer(started)} (a sign-in or challenge page?)",
                    )
                root = view.start_session.split("/startSession", 1)[0]
                root = root.removeprefix(view.server)
                config = parse_start_session(started.body, vizql_root=root)
        return Session(view, config)

    async def _bootstrap(self, session: Session) -> Bootstrap:
        body, ctype = commands.bootstrap_request(session.config)
        answer = await self._post(
            session.bootstrap, body, ctype, sheet_id=session.config.sheet_id, what="bootstrap"
        )
        if answer.status in _REFUSED:
            raise Unchecked("refused", f"bootstrapSession answers HTTP {answer.status}")
        if answer.status != 200:
            raise Unchecked("http", f"bootstrapSession answers HTTP {answer.status}")
        with _shaped("bootstrapSession"):  # megabytes of JSON: parsed off the reactor thread
            return await maybe_deferred_to_future(
                deferToThread(parse_bootstrap, answer.body, max_bytes=self.state.max_bytes)
            )

    # -- downloads -------------------------------------------------------------------------

    async def _step(self, mechanism: str, sheet: str, work: Coroutine[Any, Any, None]) -> None:
        """Run one download; a failure is this resource's, the rest of the view goes on."""
        try:
            await work
        except Unchecked as exc:
            self._unchecked(self.view.identity(mechanism, sheet), mechanism, exc)

    async def _full_data(self, session: Session, boot: Bootstrap, sheet: str) -> None:
        """Fetch a worksheet's full data: the ``vudcsv`` CSV, else the command's JSON."""
        if self._denied("allow_view_underlying"):
            self._not_offered("full data", "permission off")
            return
        identity = self.view.identity("full_data", sheet)
        title = f"Full data of view {self.view.name}" + (
            f" (worksheet {sheet})" if sheet != self.view.sheet else ""
        )
        view_id = boot.view_ids.get(sheet)
        if view_id:
            answer = await self._get(
                session.vudcsv(view_id),
                referer=self.view.page,
                accept="text/csv,*/*",
                what="full data",
            )
            if answer.status == 200 and not is_page(answer.headers) and answer.body:
                self.offers.append("full_data")
                await self.deliver.body(identity, title, answer, "full_data")
                return
            if answer.status in _REFUSED and self._flag("allow_view_underlying") is None:
                self._not_offered("full data", f"HTTP {answer.status}")
                return
        form = commands.underlying_data_request(sheet, boot.sheet_name)
        answer = await self._command(session, "underlying_data", form, "get-underlying-data")
        if answer.status in _REFUSED and self._flag("allow_view_underlying") is None:
            self._not_offered("full data", f"HTTP {answer.status}")
            return
        if answer.status != 200:
            raise Unchecked("http", f"full data: get-underlying-data answers HTTP {answer.status}")
        with _shaped("full data"):  # the shape checked off the reactor; rows in the scan worker
            added = await maybe_deferred_to_future(deferToThread(_underlying_segments, answer.body))
        self.offers.append("full_data")
        await self.deliver.envelope(identity, title, answer, "full_data", sheet, self.segments)
        self.segments = merge_segments(self.segments, added)

    async def _crosstab(self, session: Session) -> None:
        """Export each sheet the crosstab dialog lists (UTF-16, tab-separated)."""
        if self._denied("allow_export_data") and self._denied("allow_summary"):
            self._not_offered("crosstab", "permission off")
            return
        dialog = await self._command(
            session, "crosstab_dialog", commands.crosstab_dialog_request(), "crosstab dialog"
        )
        if dialog.status in _REFUSED:
            self._not_offered("crosstab", f"HTTP {dialog.status}")
            return
        with _shaped("crosstab dialog"):
            sheets = commands.crosstab_sheets(self._answered(dialog, "crosstab dialog"))
        for name, doc_id in sheets:
            await self._step("crosstab", name, self._crosstab_sheet(session, name, doc_id))

    async def _crosstab_sheet(self, session: Session, name: str, doc_id: str) -> None:
        form = commands.crosstab_export_request(doc_id)
        export = await self._command(session, "crosstab_export", form, "crosstab export")
        with _shaped("crosstab export"):
            key = commands.crosstab_result_key(self._answered(export, "crosstab export"))
        answer = await self._get(
            session.tempfile(key), referer=self.view.page, accept="*/*", what="crosstab file"
        )
        if answer.status != 200 or is_page(answer.headers):
            raise Unchecked("http", f"crosstab file answers {_answer(answer)}")
        self.offers.append("crosstab")
        title = f"Crosstab of sheet {name} in view {self.view.name}"
        await self.deliver.body(self.view.identity("crosstab", name), title, answer, "crosstab")

    async def _workbook(self) -> None:
        """Fetch the packaged workbook where a visitor may download it."""
        view = self.view
        if view.public:
            profile = await self._get(
                view.profile, referer=view.page, accept="application/json", what="profile"
            )
            if profile.status in (404, 410):  # not on Tableau Public (any more)
                self._not_offered("workbook", "not listed by Tableau Public's profile API")
                return
            if profile.status != 200:
                raise Unchecked("http", f"Tableau Public profile API answers HTTP {profile.status}")
            with _shaped("profile API"):
                allowed = parse_object(profile.body, what="profile API").get("allowDataAccess")
            self.permissions["allowDataAccess"] = bool(allowed)
            if allowed is not True:
                self._not_offered("workbook", "allowDataAccess off")
                return
        answer = await self._get(
            view.workbook_download, referer=view.page, accept="*/*", what="workbook"
        )
        if answer.status in _REFUSED or (answer.status == 200 and is_page(answer.headers)):
            if view.public:  # the profile said it may be downloaded
                raise Unchecked("refused", f"workbook answers {_answer(answer)} although offered")
            self._not_offered("workbook", _answer(answer))
            return
        if answer.status != 200:
            raise Unchecked("http", f"workbook answers HTTP {answer.status}")
        self.offers.append("workbook")
        title = f"Packaged workbook {view.workbook} (from view {view.name})"
        await self.deliver.body(view.workbook_download, title, answer, "workbook")

    # -- requests ----------------------------------------------------------------------------

    async def _get(self, url: str, *, referer: str | None, accept: str, what: str) -> Response:
        request = get_request(url, referer=referer, accept=accept, max_bytes=self.state.max_bytes)
        return await self._send(request, what)

    async def _post(
        self, url: str, body: bytes, content_type: str, *, sheet_id: str | None, what: str
    ) -> Response:
        request = form_request(
            url,
            body,
            content_type,
            referer=self.view.page,
            sheet_id=sheet_id,
            max_bytes=self.state.max_bytes,
        )
        return await self._send(request, what)

    async def _command(
        self, session: Session, name: str, form: tuple[bytes, str], what: str
    ) -> Response:
        body, content_type = form
        return await self._post(
            session.command(name), body, content_type, sheet_id=session.config.sheet_id, what=what
        )

    def _answered(self, response: Response, what: str) -> dict[str, Any]:
        """Parse a small command answer; add the values it brings to the session's dictionary."""
        if response.status != 200:
            raise Unchecked("http", f"{what} answers HTTP {response.status}")
        answered = parse_object(response.body, what=what)
        self.segments = merge_segments(self.segments, commands.command_segments(answered))
        return answered

    async def _send(self, request: Request, what: str) -> Response:
        try:
            response: Response = await self.crawler.engine.download_async(request)
        except IgnoreRequest as exc:
            raise Unchecked("refused", f"{what} not requested: {exc}") from exc
        except DOWNLOAD_ERRORS as exc:
            if is_too_large(exc):
                raise Unchecked(
                    "too_large", f"{what}: over the download limit of {self.state.max_bytes} bytes"
                ) from exc
            raise Unchecked("error", f"{what}: {describe(exc)}") from exc
        return response

    # -- permissions and reporting -----------------------------------------------------------

    def _flag(self, name: str) -> bool | None:
        return self.permissions.get(name)

    def _denied(self, name: str) -> bool:
        return self._flag(name) is False

    def _allowed(self, name: str) -> bool:
        return self._flag(name) is not False

    def _not_offered(self, what: str, why: str) -> None:
        """Record that the view does not offer a download to this visitor: fine, not a failure."""
        logger.info(
            "target=%s Tableau view %s: %s not offered (%s)",
            self.state.target,
            self.view.name,
            what,
            why,
        )

    def _unchecked(self, url: str, mechanism: str, exc: Unchecked) -> None:
        state = self.state
        what = "view" if mechanism == "session" else mechanism.replace("_", " ")
        why = f"could not check the {what} of Tableau view {self.view.name}: {exc.why}"
        state.seen.add(url)
        state.files["tableau_unchecked"] += 1
        state.metrics.tableau_unchecked.labels(state.target, mechanism, exc.reason).inc()
        state.page_failed(url, why, start=False, kind="Tableau")
        state.hooks.on_fetch_error(state.target, url, why)


@contextmanager
def _shaped(what: str) -> Iterator[None]:
    """Turn an answer of an unknown shape into "could not check" (reason ``shape``)."""
    try:
        yield
    except TableauProtocolError as exc:
        raise Unchecked("shape", f"{what}: {exc}") from exc


def _underlying_segments(body: bytes) -> dict[str, Any]:
    """Check that a body is a command answer with a data table; return the segments it adds.

    Raises:
        TableauProtocolError: not such an answer.
    """
    answer = load_answer(body, what="get-underlying-data")
    commands.underlying_table(answer)
    return commands.command_segments(answer)


def _charset(response: Response) -> str:
    encoding = getattr(response, "encoding", None)
    return str(encoding) if encoding else "utf-8"


def _answer(response: Response) -> str:
    kind = "an HTML page" if is_page(response.headers) else "a body"
    return f"HTTP {response.status} with {kind}"
