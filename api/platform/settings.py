"""Typed settings, read once from the environment.

Every field has a default that makes the embedded mode work with nothing configured.
Each group maps its fields to environment variables in ``ENV``; docs/configuration.md lists them all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Self
from urllib.parse import urlsplit, urlunsplit

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class _Group(msgspec.Struct, frozen=True, kw_only=True):
    ENV: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        raw = {field: environ[var] for field, var in cls.ENV.items() if environ.get(var, "") != ""}
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"{cls.__name__}: {exc}") from exc


class SettingsError(ValueError):
    """A setting in the environment has a value we cannot use."""


class PathSettings(_Group, frozen=True):
    var_dir: str = str(PROJECT_ROOT / "var")
    migrations_dir: str = str(PROJECT_ROOT / "migrations")

    ENV: ClassVar[dict[str, str]] = {
        "var_dir": "SAFECITY_VAR_DIR",
        "migrations_dir": "SAFECITY_MIGRATIONS_DIR",
    }


class DatabaseSettings(_Group, frozen=True):
    url: str | None = None
    pool_min: int = 0
    pool_max: int = 10
    command_timeout: float = 30.0
    # To open a connection, or to wait for a free one in the pool; past it the API answers 503 with Retry-After.
    connect_timeout: float = 10.0

    ENV: ClassVar[dict[str, str]] = {
        "url": "DATABASE_URL",
        "pool_min": "DB_POOL_MIN",
        "pool_max": "DB_POOL_MAX",
        "command_timeout": "DB_COMMAND_TIMEOUT",
        "connect_timeout": "DB_CONNECT_TIMEOUT",
    }


class HttpSettings(_Group, frozen=True):
    """The HTTP server: where it listens, and the limits that keep a client from holding memory or connections."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Routes that take more (photo upload, CAP, the console's forms) say so themselves.
    max_body_bytes: int = 32 * 1024
    max_header_bytes: int = 16 * 1024
    header_timeout_s: float = 10.0  # from the connection (or the last response) to the end of the headers
    body_timeout_s: float = 60.0  # from the end of the headers to the end of the body
    keep_alive_s: int = 5  # an idle connection between requests
    limit_concurrency: int = 1000  # connections and requests at once, per process; beyond, 503 (0: no limit)
    # Photo uploads read at once, per process: each is held whole in memory (about three times its size)
    # while it is parsed and checked. Behind a proxy that buffers bodies they arrive whole, so slots free fast.
    max_uploads: int = 8

    ENV: ClassVar[dict[str, str]] = {
        "host": "HOST",
        "port": "PORT",
        "workers": "WEB_CONCURRENCY",
        "max_body_bytes": "HTTP_MAX_BODY",
        "max_header_bytes": "HTTP_MAX_HEADER_BYTES",
        "header_timeout_s": "HTTP_HEADER_TIMEOUT",
        "body_timeout_s": "HTTP_BODY_TIMEOUT",
        "keep_alive_s": "HTTP_KEEP_ALIVE_TIMEOUT",
        "limit_concurrency": "HTTP_LIMIT_CONCURRENCY",
        "max_uploads": "HTTP_MAX_UPLOADS",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        http = super().from_env(environ)
        if min(http.max_body_bytes, http.max_header_bytes, http.keep_alive_s, http.max_uploads) < 1:
            raise SettingsError(
                "HTTP_MAX_BODY, HTTP_MAX_HEADER_BYTES, HTTP_KEEP_ALIVE_TIMEOUT and HTTP_MAX_UPLOADS must be at least 1"
            )
        if not (http.header_timeout_s > 0 and http.body_timeout_s > 0):
            raise SettingsError("HTTP_HEADER_TIMEOUT and HTTP_BODY_TIMEOUT must be positive numbers of seconds")
        if http.limit_concurrency < 0:
            raise SettingsError("HTTP_LIMIT_CONCURRENCY must be 0 (no limit) or more")
        return http


class AuthSettings(_Group, frozen=True):
    jwt_secret: str | None = None
    issuer: str = "safecity"
    audience: str = "safecity-api"
    citizen_token_ttl_s: int = 30 * 24 * 3600
    staff_token_ttl_s: int = 12 * 3600
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    otp_max_per_hour: int = 5
    # The longest a token of each role may live: a lost staff token is dangerous for hours, not years.
    citizen_token_max_ttl_s: int = 30 * 24 * 3600
    staff_token_max_ttl_s: int = 12 * 3600
    service_token_max_ttl_s: int = 90 * 24 * 3600
    # Sign-in codes sent per hour, city-wide and per number prefix (the number less its last 4 digits),
    # so that SMS cost has a ceiling; never per client address, which carrier NAT shares among thousands.
    otp_global_per_hour: int = 2000
    otp_prefix_per_hour: int = 50

    ENV: ClassVar[dict[str, str]] = {
        "jwt_secret": "JWT_SECRET",
        "issuer": "JWT_ISSUER",
        "audience": "JWT_AUDIENCE",
        "citizen_token_ttl_s": "AUTH_CITIZEN_TOKEN_TTL",
        "staff_token_ttl_s": "AUTH_STAFF_TOKEN_TTL",
        "otp_ttl_s": "AUTH_OTP_TTL",
        "otp_max_attempts": "AUTH_OTP_MAX_ATTEMPTS",
        "otp_max_per_hour": "AUTH_OTP_MAX_PER_HOUR",
        "citizen_token_max_ttl_s": "AUTH_CITIZEN_TOKEN_MAX_TTL",
        "staff_token_max_ttl_s": "AUTH_STAFF_TOKEN_MAX_TTL",
        "service_token_max_ttl_s": "AUTH_SERVICE_TOKEN_MAX_TTL",
        "otp_global_per_hour": "AUTH_OTP_GLOBAL_PER_HOUR",
        "otp_prefix_per_hour": "AUTH_OTP_PREFIX_PER_HOUR",
    }

    def max_token_ttl_s(self, role: str) -> int:
        """The cap on a token's lifetime for a role (by its name: this floor knows no Role)."""
        if role == "citizen":
            return self.citizen_token_max_ttl_s
        if role == "service":
            return self.service_token_max_ttl_s
        return self.staff_token_max_ttl_s

    @property
    def longest_token_ttl_s(self) -> int:
        """No token outlives this: a revocation kept this long outlasts the token it names."""
        return max(self.citizen_token_max_ttl_s, self.staff_token_max_ttl_s, self.service_token_max_ttl_s)


class LogSettings(_Group, frozen=True):
    level: str = "INFO"
    format: str = "auto"  # json, console, or auto: console for a terminal, json for anything else

    ENV: ClassVar[dict[str, str]] = {"level": "LOG_LEVEL", "format": "LOG_FORMAT"}


class FcmSettings(_Group, frozen=True):
    """Firebase Cloud Messaging. Push goes to the console unless a credentials file or an endpoint is given."""

    credentials_file: str | None = None
    project_id: str | None = None
    endpoint: str | None = None  # another FCM base URL, e.g. the fake server in tests and local runs
    timeout_s: float = 10.0  # per HTTP call; past it a sent push's outcome is unknown (the SDK's own is 120 s)

    ENV: ClassVar[dict[str, str]] = {
        "credentials_file": "FCM_CREDENTIALS_FILE",
        "project_id": "FCM_PROJECT_ID",
        "endpoint": "FCM_ENDPOINT",
        "timeout_s": "FCM_TIMEOUT",
    }

    @property
    def enabled(self) -> bool:
        return bool(self.credentials_file or self.endpoint)


class TwilioSettings(_Group, frozen=True):
    """Twilio SMS. SMS goes to the console unless an account SID and auth token are given."""

    account_sid: str | None = None
    auth_token: str | None = None
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base_url: str | None = None  # another API base URL, e.g. the fake server in tests and local runs
    timeout_s: float = 15.0  # to connect, and then to answer; past it a sent SMS's outcome is unknown

    ENV: ClassVar[dict[str, str]] = {
        "account_sid": "TWILIO_ACCOUNT_SID",
        "auth_token": "TWILIO_AUTH_TOKEN",
        "from_number": "TWILIO_FROM_NUMBER",
        "messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID",
        "api_base_url": "TWILIO_API_BASE_URL",
        "timeout_s": "TWILIO_TIMEOUT",
    }

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid and self.auth_token)


class SolapiSettings(_Group, frozen=True):
    """Korean SMS, LMS and 알림톡 through SOLAPI. Off unless an API key, its secret and a sender are given."""

    api_key: str | None = None
    api_secret: str | None = None
    sender: str | None = None  # the registered 발신번호, e.g. 0212345678 or +82212345678
    base_url: str | None = None  # another API base URL, e.g. the fake server in tests and local runs
    kakao_pfid: str | None = None  # the KakaoTalk channel's pfId; with templates, 알림톡 goes first
    # Our template names and the 알림톡 template ids registered for them: "care.checkin_reminder=KA01TP…,…"
    kakao_templates: str = ""
    # Shared secret of our webhooks (delivery reports, inbound texts); unset, they are refused.
    webhook_secret: str | None = None

    ENV: ClassVar[dict[str, str]] = {
        "api_key": "SOLAPI_API_KEY",
        "api_secret": "SOLAPI_API_SECRET",
        "sender": "SOLAPI_SENDER",
        "base_url": "SOLAPI_BASE_URL",
        "kakao_pfid": "SOLAPI_KAKAO_PFID",
        "kakao_templates": "SOLAPI_KAKAO_TEMPLATES",
        "webhook_secret": "SOLAPI_WEBHOOK_SECRET",
    }

    @property
    def enabled(self) -> bool:
        return bool(self.api_key and self.api_secret and self.sender)

    def templates(self) -> dict[str, str]:
        """``SOLAPI_KAKAO_TEMPLATES`` read as template name → 알림톡 template id."""
        pairs = (item.partition("=") for item in self.kakao_templates.split(",") if item.strip())
        return {name.strip(): template_id.strip() for name, _, template_id in pairs}


class NotifySettings(_Group, frozen=True):
    """The outbox and its dispatcher."""

    public_url: str | None = None  # how providers reach this API, for webhook URLs and signature checks
    batch_size: int = 500
    lease_s: float = 60.0
    poll_s: float = 1.0
    max_attempts: int = 16  # with the default backoff, a lone message is retried for about two hours
    backoff_base_s: float = 5.0
    backoff_max_s: float = 900.0
    sms_concurrency: int = 20
    push_fallback_s: int = 300
    sms_max_segments: int = 4
    # A long text to a Korean number is one LMS rather than numbered SMS parts: set when SOLAPI sends to Korea.
    korean_lms: bool = False

    ENV: ClassVar[dict[str, str]] = {
        "public_url": "PUBLIC_BASE_URL",
        "batch_size": "NOTIFY_BATCH_SIZE",
        "lease_s": "NOTIFY_LEASE",
        "poll_s": "NOTIFY_POLL",
        "max_attempts": "NOTIFY_MAX_ATTEMPTS",
        "backoff_base_s": "NOTIFY_BACKOFF_BASE",
        "backoff_max_s": "NOTIFY_BACKOFF_MAX",
        "sms_concurrency": "NOTIFY_SMS_CONCURRENCY",
        "push_fallback_s": "NOTIFY_PUSH_FALLBACK",
        "sms_max_segments": "NOTIFY_SMS_MAX_SEGMENTS",
    }


class AlertSettings(_Group, frozen=True):
    """Weather and disaster warning sources: KMA's warnings API and CAP feeds, each polled by the worker."""

    kma_base_url: str = "https://apis.data.go.kr"
    kma_service_key: str | None = None  # data.go.kr's *decoded* key; unset, the KMA poll is off
    kma_poll_s: int = 60
    kma_window_hours: int = 24
    cap_feed_urls: str = ""  # comma-separated Atom/RSS indexes or single CAP message URLs; empty, the poll is off
    cap_poll_s: int = 60
    http_timeout_s: float = 10.0
    max_bytes: int = 1_000_000

    ENV: ClassVar[dict[str, str]] = {
        "kma_base_url": "KMA_BASE_URL",
        "kma_service_key": "KMA_SERVICE_KEY",
        "kma_poll_s": "KMA_POLL_SECONDS",
        "kma_window_hours": "KMA_WINDOW_HOURS",
        "cap_feed_urls": "CAP_FEED_URLS",
        "cap_poll_s": "CAP_POLL_SECONDS",
        "http_timeout_s": "ALERTS_HTTP_TIMEOUT",
        "max_bytes": "ALERTS_MAX_BYTES",
    }

    @property
    def feed_urls(self) -> list[str]:
        return [url.strip() for url in self.cap_feed_urls.split(",") if url.strip()]


class ConsoleSettings(_Group, frozen=True):
    """The social workers' web console: sessions, lock-out and the queue's live refresh."""

    session_ttl_s: int = 12 * 3600  # a shift; then sign in again, however busy the session
    idle_timeout_s: int = 3600  # an open queue page polls, so only a closed or abandoned console goes idle
    # Wrong passwords from one address for one account before each further try waits 2, 4, 8 … seconds.
    lockout_attempts: int = 5
    # How long a wrong password counts; a day, so that the waits add up instead of starting over.
    lockout_window_s: int = 24 * 3600
    lockout_max_wait_s: int = 3600
    # Wrong passwords from one address for any accounts before that address waits for every account.
    lockout_source_attempts: int = 20
    poll_s: int = 10

    ENV: ClassVar[dict[str, str]] = {
        "session_ttl_s": "CONSOLE_SESSION_TTL",
        "idle_timeout_s": "CONSOLE_IDLE_TIMEOUT",
        "lockout_attempts": "CONSOLE_LOCKOUT_ATTEMPTS",
        "lockout_window_s": "CONSOLE_LOCKOUT_WINDOW",
        "lockout_max_wait_s": "CONSOLE_LOCKOUT_MAX_WAIT",
        "lockout_source_attempts": "CONSOLE_LOCKOUT_SOURCE_ATTEMPTS",
        "poll_s": "CONSOLE_POLL",
    }


class KakaoSettings(_Group, frozen=True):
    """The KakaoTalk channel chatbot (Kakao i Open Builder skill): off until its shared secret is set."""

    # The value the skill sends in ``skill_secret_header`` (set in Open Builder's skill settings); unset, refused.
    skill_secret: str | None = None
    skill_secret_header: str = "X-Safecity-Skill-Secret"  # noqa: S105 - a header's name
    # Kakao waits 5 s for a skill; past this budget the answer goes by the callback (or a holding reply).
    reply_budget_s: float = 3.5
    callback_timeout_s: float = 5.0
    # Hosts (or parents of hosts, by suffix) a callbackUrl may name; any other is not called (a leaked secret must
    # not make us post to our own network). "https" is required unless the host is listed with "http://".
    callback_hosts: str = "kakao.com,kakaoenterprise.com"
    link_code_ttl_s: int = 600
    link_codes_per_hour: int = 3  # SMS codes per Kakao user, and per phone
    link_failures_per_hour: int = 5  # wrong codes a Kakao user may type in an hour

    ENV: ClassVar[dict[str, str]] = {
        "skill_secret": "KAKAO_SKILL_SECRET",
        "skill_secret_header": "KAKAO_SKILL_SECRET_HEADER",
        "reply_budget_s": "KAKAO_REPLY_BUDGET",
        "callback_timeout_s": "KAKAO_CALLBACK_TIMEOUT",
        "callback_hosts": "KAKAO_CALLBACK_HOSTS",
        "link_code_ttl_s": "KAKAO_LINK_CODE_TTL",
        "link_codes_per_hour": "KAKAO_LINK_CODES_PER_HOUR",
        "link_failures_per_hour": "KAKAO_LINK_FAILURES_PER_HOUR",
    }

    def callback_allowed(self, url: str) -> bool:
        """Whether a callbackUrl names a host we may post to: https to a listed host, or an ``http://`` one listed."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        for item in (i.strip().lower() for i in self.callback_hosts.split(",") if i.strip()):
            scheme, _, listed = item.rpartition("://")
            listed = listed.split(":")[0]
            if parts.scheme == (scheme or "https") and (host == listed or host.endswith("." + listed)):
                return True
        return False


class RasaSettings(_Group, frozen=True):
    """The chatbot: Rasa's REST channel (on localhost only) and the action server beside it."""

    url: str = "http://127.0.0.1:5005"  # or several, comma-separated: the API spreads conversations over them
    timeout_s: float = 5.0
    actions_port: int = 5055
    enabled: str = "auto"  # "auto": on when bot/.venv has Rasa and a model is trained; "true" or "false"
    tracker_db: str = "safecity_rasa"  # the tracker store's database, on the same server as safecity's
    lock_store_url: str = ""  # the lock store's database (advisory locks): by default the tracker store's
    lock_wait_s: float = 10.0  # a message waits this long behind its conversation's others, then is apologised for
    tracker_retention_days: int = 30  # a conversation silent this long is deleted from the tracker store

    ENV: ClassVar[dict[str, str]] = {
        "url": "RASA_URL",
        "timeout_s": "RASA_TIMEOUT",
        "actions_port": "ACTIONS_PORT",
        "enabled": "RASA_ENABLED",
        "tracker_db": "RASA_TRACKER_DB",
        "lock_store_url": "RASA_LOCK_STORE_URL",
        "lock_wait_s": "RASA_LOCK_WAIT",
        "tracker_retention_days": "RASA_TRACKER_RETENTION_DAYS",
    }

    def urls(self, servers: int | None = None) -> list[str]:
        """The Rasa servers' addresses: those ``RASA_URL`` lists, or ``servers`` on consecutive ports from its first."""
        given = [u.strip().rstrip("/") for u in self.url.split(",") if u.strip()]
        if servers is None or servers == len(given):
            return given
        first = urlsplit(given[0])
        port = first.port or 5005
        return [urlunsplit(first._replace(netloc=f"{first.hostname}:{port + i}")) for i in range(servers)]

    def off_because(self) -> str | None:
        """Why the chatbot is off, or None when it is on."""
        if self.enabled == "false":
            return "RASA_ENABLED=false"
        if self.enabled == "true":
            return None
        if not (PROJECT_ROOT / "bot" / ".venv" / "bin" / "rasa").exists():
            return "bot/.venv has no Rasa (run `make bot`)"
        if rasa_model() is None:
            return "no trained model in bot/models (run `make bot-model`)"
        return None


def rasa_model() -> Path | None:
    """The trained model: ``bot/models/current.tar.gz``, else the newest ``bot/models/*.tar.gz``."""
    models = PROJECT_ROOT / "bot" / "models"
    current = models / "current.tar.gz"
    if current.exists():
        return current
    found = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime) if models.is_dir() else []
    return found[-1] if found else None


class MetricsSettings(_Group, frozen=True):
    """Where the worker serves its Prometheus metrics (the API serves them at ``/metrics``); port 0 turns it off."""

    worker_host: str = "127.0.0.1"
    worker_port: int = 9464

    ENV: ClassVar[dict[str, str]] = {"worker_host": "WORKER_METRICS_HOST", "worker_port": "WORKER_METRICS_PORT"}


class CareSettings(_Group, frozen=True):
    escalate_after_min: int = 5  # an urgent case nobody acknowledged goes to the next person on duty after this

    ENV: ClassVar[dict[str, str]] = {"escalate_after_min": "CARE_ESCALATE_AFTER_MINUTES"}


class EvacuationSettings(_Group, frozen=True):
    """Shelter answers: how far a shelter may be and still count as nearby."""

    # Beyond this the answer says "nothing suitable nearby" and still gives the nearest, marked as far.
    distance_cap_m: float = 5000.0

    ENV: ClassVar[dict[str, str]] = {"distance_cap_m": "SHELTER_DISTANCE_CAP_M"}


class SensorSettings(_Group, frozen=True):
    """City sensors: how long their readings are kept."""

    # A day's partition of sensor_readings is dropped once the whole day is older than this. Readings up to 7
    # days old are taken and rules sum up to a day back, so less than 8 days would drop what is still read.
    readings_keep_days: int = 90

    ENV: ClassVar[dict[str, str]] = {"readings_keep_days": "SENSOR_READINGS_KEEP_DAYS"}


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """All settings, one typed group per concern."""

    paths: PathSettings = PathSettings()
    db: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    auth: AuthSettings = AuthSettings()
    log: LogSettings = LogSettings()
    fcm: FcmSettings = FcmSettings()
    twilio: TwilioSettings = TwilioSettings()
    solapi: SolapiSettings = SolapiSettings()
    notify: NotifySettings = NotifySettings()
    alerts: AlertSettings = AlertSettings()
    console: ConsoleSettings = ConsoleSettings()
    rasa: RasaSettings = RasaSettings()
    kakao: KakaoSettings = KakaoSettings()
    metrics: MetricsSettings = MetricsSettings()
    care: CareSettings = CareSettings()
    evacuation: EvacuationSettings = EvacuationSettings()
    sensors: SensorSettings = SensorSettings()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every group from the environment (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        settings = cls(
            paths=PathSettings.from_env(env),
            db=DatabaseSettings.from_env(env),
            http=HttpSettings.from_env(env),
            auth=AuthSettings.from_env(env),
            log=LogSettings.from_env(env),
            fcm=FcmSettings.from_env(env),
            twilio=TwilioSettings.from_env(env),
            solapi=SolapiSettings.from_env(env),
            notify=NotifySettings.from_env(env),
            alerts=AlertSettings.from_env(env),
            console=ConsoleSettings.from_env(env),
            rasa=RasaSettings.from_env(env),
            kakao=KakaoSettings.from_env(env),
            metrics=MetricsSettings.from_env(env),
            care=CareSettings.from_env(env),
            evacuation=EvacuationSettings.from_env(env),
            sensors=SensorSettings.from_env(env),
        )
        if settings.log.format not in ("json", "console", "auto"):
            raise SettingsError("LOG_FORMAT must be 'json', 'console' or 'auto'")
        twilio = settings.twilio
        if twilio.enabled and not (twilio.from_number or twilio.messaging_service_sid):
            raise SettingsError("Twilio needs a sender: set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        if bool(twilio.account_sid) and not twilio.auth_token:
            raise SettingsError("TWILIO_ACCOUNT_SID is set without TWILIO_AUTH_TOKEN")
        if not (twilio.timeout_s > 0 and settings.fcm.timeout_s > 0):
            raise SettingsError("TWILIO_TIMEOUT and FCM_TIMEOUT must be positive numbers of seconds")
        solapi = settings.solapi
        if any((solapi.api_key, solapi.api_secret, solapi.sender)) and not solapi.enabled:
            raise SettingsError("SOLAPI needs all of SOLAPI_API_KEY, SOLAPI_API_SECRET and SOLAPI_SENDER")
        if solapi.templates() and not solapi.kakao_pfid:
            raise SettingsError("SOLAPI_KAKAO_TEMPLATES is set without SOLAPI_KAKAO_PFID")
        if any(not name or not template_id for name, template_id in solapi.templates().items()):
            raise SettingsError("SOLAPI_KAKAO_TEMPLATES is a list of name=template_id, comma-separated")
        if solapi.enabled:
            # The enqueue side's rule follows the channel: a long text to Korea is then one LMS.
            settings = msgspec.structs.replace(
                settings, notify=msgspec.structs.replace(settings.notify, korean_lms=True)
            )
        alerts = settings.alerts
        if min(alerts.kma_poll_s, alerts.cap_poll_s, alerts.kma_window_hours, alerts.max_bytes) < 1:
            raise SettingsError(
                "KMA_POLL_SECONDS, CAP_POLL_SECONDS, KMA_WINDOW_HOURS and ALERTS_MAX_BYTES must be at least 1"
            )
        if not alerts.http_timeout_s > 0:
            raise SettingsError("ALERTS_HTTP_TIMEOUT must be a positive number of seconds")
        if settings.rasa.enabled not in ("auto", "true", "false"):
            raise SettingsError("RASA_ENABLED must be 'auto', 'true' or 'false'")
        if not settings.rasa.timeout_s > 0:
            raise SettingsError("RASA_TIMEOUT must be a positive number of seconds")
        kakao = settings.kakao
        if not 0 < kakao.reply_budget_s < 5:
            raise SettingsError("KAKAO_REPLY_BUDGET must be more than 0 and less than Kakao's 5 seconds")
        if kakao.skill_secret is not None and len(kakao.skill_secret) < 16:
            raise SettingsError("KAKAO_SKILL_SECRET must be at least 16 characters")
        if settings.sensors.readings_keep_days < 8:
            raise SettingsError("SENSOR_READINGS_KEEP_DAYS must be at least 8 (readings are taken up to 7 days old)")
        if not settings.evacuation.distance_cap_m > 0:
            raise SettingsError("SHELTER_DISTANCE_CAP_M must be a positive number of metres")
        if settings.auth.jwt_secret is not None and len(settings.auth.jwt_secret.encode()) < 32:
            raise SettingsError("JWT_SECRET must be at least 32 bytes; `openssl rand -base64 48` makes one")
        return settings

    @property
    def var_dir(self) -> Path:
        return Path(self.paths.var_dir)

    def jwt_secret(self) -> str:
        """The signing secret: ``JWT_SECRET``, or one generated once and kept under the var dir.

        The generated secret is shared by every process on this machine (API, worker, CLI),
        so a token minted by ``safecity token`` works against a running API.
        """
        if self.auth.jwt_secret:
            return self.auth.jwt_secret
        path = self.var_dir / "jwt_secret"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            # Written aside and linked into place, so two processes starting at once agree on one secret.
            tmp = path.with_name(f".jwt_secret.{secrets.token_hex(8)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()
