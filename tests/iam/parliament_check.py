"""Runs parliament on IAM policies and prints its findings as JSON.

In (stdin): a JSON list of {"id": str, "policy": {...}}, where intrinsic
functions are already resolved to plain strings. Out (stdout): a JSON list of
{"id", "issue", "severity", "detail"} for every finding, community auditors
included.
"""

import json
import sys

import parliament


def main() -> None:
    items = json.load(sys.stdin)
    out = []
    for item in items:
        policy = parliament.analyze_policy_string(
            json.dumps(item["policy"]),
            filepath=item["id"],
            include_community_auditors=True,
        )
        for f in policy.findings:
            out.append(
                {
                    "id": item["id"],
                    "issue": f.issue,
                    "severity": f.severity,
                    "detail": json.dumps(f.detail, sort_keys=True, default=str),
                }
            )
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
