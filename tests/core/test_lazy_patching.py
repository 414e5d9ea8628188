"""instrument() patches SDKs the app imports, when it imports them: it never imports one on its own account."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from llmtrace.integrations import INTEGRATIONS
from llmtrace.providers._registry import PROVIDERS


def _run(code: str) -> str:
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_instrument_imports_no_sdk_and_patches_each_on_import():
    out = _run(
        """
        import sys, wrapt, llmtrace
        names = llmtrace.instrument()
        from llmtrace.integrations import INTEGRATIONS
        from llmtrace.providers._registry import PROVIDERS
        modules = [spec.sdk_module for spec in PROVIDERS] + [spec.framework_module for spec in INTEGRATIONS]
        heavy = [module for module in modules if module in sys.modules]  # frameworks are patched on import too
        import openai, httpx2
        from openai.resources.chat.completions.completions import Completions
        print(len(names), heavy, isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper),
              isinstance(httpx2.Client.__dict__["send"], wrapt.FunctionWrapper), "anthropic" in sys.modules)
        llmtrace.uninstrument()
        print(isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper),
              isinstance(httpx2.Client.__dict__["send"], wrapt.FunctionWrapper))
        """
    )
    # every SDK and framework is installed (the dev extra)
    assert out.splitlines() == [f"{len(PROVIDERS) + len(INTEGRATIONS)} [] True True False", "False False"]


def test_uninstrument_before_the_import_leaves_the_sdk_untouched():
    out = _run(
        """
        import wrapt, llmtrace
        llmtrace.instrument(providers=["anthropic"])
        llmtrace.uninstrument()
        llmtrace.instrument(providers=["openai"])
        import anthropic, openai
        from anthropic.resources.messages.messages import Messages
        from openai.resources.chat.completions.completions import Completions
        print(isinstance(Messages.__dict__["create"], wrapt.FunctionWrapper),
              isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper))
        """
    )
    assert out == "False True"
