"""Run the fake FCM, Twilio, SOLAPI and Kakao servers, for local runs and benchmarks: ``python -m fakes``.

Prints one JSON line with their URLs and the environment that points safecity at them (``env``; ``solapi_env``
besides sends Korean numbers through the fake SOLAPI; ``kakao_env`` lets the fake Kakao call the skill and take its
callbacks, ``fakes.kakao.FakeKakao`` with the same secret sends the messages), then serves until
Ctrl-C. Drive them over ``/_fake/control``; read what they received at ``/_fake/sent``.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading

from fakes.fcm import FakeFcm
from fakes.kakao import FakeKakao
from fakes.server import BackgroundServer
from fakes.solapi import FakeSolapi
from fakes.twilio import FakeTwilio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fcm-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--twilio-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--twilio-auth-token", default="local-fake-twilio-token")
    parser.add_argument("--solapi-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--kakao-port", type=int, default=0, help="default: a free port (its callback URLs)")
    args = parser.parse_args()

    fcm = FakeFcm()
    twilio = FakeTwilio(auth_token=args.twilio_auth_token)
    fcm_server = BackgroundServer(fcm.app, port=args.fcm_port)
    twilio_server = BackgroundServer(twilio.app, port=args.twilio_port)
    solapi = FakeSolapi()
    solapi_server = BackgroundServer(solapi.app, port=args.solapi_port)
    kakao = FakeKakao()
    kakao_server = BackgroundServer(kakao.app, port=args.kakao_port)
    kakao.url = kakao_server.url
    with fcm_server, twilio_server, solapi_server, kakao_server:
        env = {
            "FCM_ENDPOINT": fcm_server.url,
            "FCM_PROJECT_ID": "safecity-local",
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": twilio_server.url,
        }
        # Apart, since with them Korean numbers leave Twilio for SOLAPI: add them to send Korea through it.
        solapi_env = {
            "SOLAPI_API_KEY": solapi.api_key,
            "SOLAPI_API_SECRET": solapi.api_secret,
            "SOLAPI_SENDER": solapi.sender,
            "SOLAPI_BASE_URL": solapi_server.url,
            "SOLAPI_KAKAO_PFID": solapi.pfid,
            "SOLAPI_WEBHOOK_SECRET": solapi.webhook_secret,
        }
        kakao_env = {
            "KAKAO_SKILL_SECRET": kakao.secret,
            "KAKAO_SKILL_SECRET_HEADER": kakao.header,
            "KAKAO_CALLBACK_HOSTS": f"http://{kakao_server.host}",
        }
        urls = {
            "fcm": fcm_server.url,
            "twilio": twilio_server.url,
            "solapi": solapi_server.url,
            "kakao": kakao_server.url,
        }
        print(json.dumps(urls | {"env": env, "solapi_env": solapi_env, "kakao_env": kakao_env}), flush=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()


if __name__ == "__main__":
    main()
