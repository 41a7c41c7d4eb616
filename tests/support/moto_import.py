"""moto_server with CloudFormation resource import, which moto 5.2.5 lacks.

moto reads an IMPORT change set's template but ignores `ResourcesToImport`:
it shows each resource as `Add` and, on execution, creates it again (a named
bucket then fails with BucketAlreadyExists). This launcher adds what AWS
documents for an IMPORT change set, and nothing else:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html

- each resource listed in `ResourcesToImport` shows as `Import`;
- on execution the existing resource (an S3 bucket by `BucketName`, a KMS
  key by `KeyId`) is taken into the stack instead of being created, and the
  stack ends IMPORT_COMPLETE;
- a listed resource that does not exist fails the change set, as on AWS.

Used by `tests/adopt_moto.rs` (`Moto::start_with_import`). Arguments are
moto_server's (`-H 127.0.0.1 -p 0`).
"""

import threading

from moto.cloudformation import models, responses
from moto.kms.models import kms_backends
from moto.s3.models import s3_backends
from moto.server import main

_pending = threading.local()


def _identifier(entry):
    """`ResourceIdentifier` as moto parses the query string: a dict, or a
    list of key/value entries."""
    ident = entry.get("ResourceIdentifier") or {}
    if isinstance(ident, dict) and "entry" in ident:
        ident = ident["entry"]
    if isinstance(ident, list):
        return {e["key"]: e["value"] for e in ident}
    return dict(ident)


_create_response = responses.CloudFormationResponse.create_change_set


def create_change_set_response(self):
    imports = self._get_param("ResourcesToImport", []) or []
    _pending.imports = [
        {
            "LogicalResourceId": i["LogicalResourceId"],
            "ResourceType": i["ResourceType"],
            "ResourceIdentifier": _identifier(i),
        }
        for i in imports
    ]
    try:
        return _create_response(self)
    finally:
        _pending.imports = []


_change_set_init = models.ChangeSet.__init__


def change_set_init(self, *args, **kwargs):
    self.imports = list(getattr(_pending, "imports", []) or [])
    _change_set_init(self, *args, **kwargs)


_diff = models.ChangeSet.diff


def diff(self):
    if self.change_set_type != "IMPORT":
        return _diff(self)
    return [
        models.Change(
            action="Import",
            logical_resource_id=i["LogicalResourceId"],
            resource_type=i["ResourceType"],
        )
        for i in self.imports
    ]


def _existing(stack, item):
    """The existing moto object for one resource to import."""
    ident = item["ResourceIdentifier"]
    account, region = stack.account_id, stack.region_name
    if item["ResourceType"] == "AWS::S3::Bucket":
        return s3_backends[account]["aws"].buckets[ident["BucketName"]]
    if item["ResourceType"] == "AWS::KMS::Key":
        return kms_backends[account][region].keys[ident["KeyId"]]
    raise models.ValidationError(
        message=f"moto_import: cannot import {item['ResourceType']}"
    )


_apply = models.ChangeSet.apply


def apply(self):
    if self.change_set_type == "IMPORT":
        for item in self.imports:
            try:
                obj = _existing(self.stack, item)
            except KeyError:
                what = f"{item['LogicalResourceId']} {item['ResourceIdentifier']}"
                raise models.ValidationError(
                    message=f"Resource {what} does not exist"
                ) from None
            obj.logical_resource_id = item["LogicalResourceId"]
            obj.cf_resource_type = item["ResourceType"]
            self.stack.resource_map._parsed_resources[item["LogicalResourceId"]] = obj
    _apply(self)


responses.CloudFormationResponse.create_change_set = create_change_set_response
models.ChangeSet.__init__ = change_set_init
models.ChangeSet.diff = diff
models.ChangeSet.apply = apply

if __name__ == "__main__":
    main()
