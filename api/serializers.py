"""Serializer building blocks shared by the API's endpoints."""

from __future__ import annotations

import copy

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """An input serializer whose fields are copied shallowly for each instance.

    DRF deep-copies every declared field for each serializer instance, which runs each
    field's ``__init__`` again: on the feedback ingest path that was a fifth of the
    request's CPU. Declared fields hold no per-request state (binding sets the name and
    parent on the copy), so a shallow copy gives the same validation. Not for nested
    serializers declared as fields: those keep per-instance state and need a deep copy.
    """

    def get_fields(self):
        fields = {}
        for name, field in self._declared_fields.items():
            if isinstance(field, serializers.BaseSerializer):
                fields[name] = copy.deepcopy(field)
            else:
                fields[name] = copy.copy(field)
        return fields
