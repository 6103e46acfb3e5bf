"""Events: the schema shared by gym, store and dashboard, the append-only log, and the websocket sink."""
from mlgym.events.schema import EVENT_TYPES, SCHEMA_VERSION, Envelope, validate_envelope
from mlgym.events.event_log import EventLog, read_events

__all__ = ["EVENT_TYPES", "SCHEMA_VERSION", "Envelope", "validate_envelope", "EventLog", "read_events"]
