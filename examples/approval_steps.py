#!/usr/bin/env python3
"""The exec steps of examples/approval.yaml (contract: README, "http and exec steps").

draft  outputs {"answer": ...} for the run's input {"question": ...}
send   reads the approval (the output of the wait step `approve`: the signal's
       body) and outputs {"sent": true|false, "answer", "approved_by"}; a body
       without "approved": true sends nothing.
Only the standard library is used.
"""
import json
import sys


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    job = json.load(sys.stdin)
    if mode == "draft":
        question = str(job.get("input", {}).get("question", "your question"))
        print(json.dumps({"answer": f"Thank you for asking. About '{question}': yes, within 30 days."}))
        return 0
    if mode == "send":
        outputs = job.get("outputs", {})
        approval = outputs.get("approve") or {}
        approved = isinstance(approval, dict) and approval.get("approved") is True
        print(json.dumps({
            "sent": approved,
            "answer": outputs.get("draft", {}).get("answer"),
            "approved_by": approval.get("by") if isinstance(approval, dict) else None,
        }))
        return 0
    print(f"usage: approval_steps.py draft|send (got {mode!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
