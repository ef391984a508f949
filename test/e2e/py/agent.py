"""A Python paho-mqtt client driven by the e2e tests: one JSON command per stdin line, one JSON event per stdout line.

Written for Debian's python3-paho-mqtt 1.6 API (no CallbackAPIVersion); run it with /usr/bin/python3.

Commands (field "op"):
  connect     host, port, client_id, version (4 = MQTT 3.1.1, 5), clean, keepalive, props, will {topic, payload, qos,
              retain, props}
  subscribe   topic, qos, nl, rap, rh (MQTT 5 subscription options), props
  unsubscribe topic
  publish     topic, payload (text) or payload_hex, qos, retain, props
  disconnect  reason (MQTT 5 reason code), props
  drop        exit at once without DISCONNECT (the OS closes the socket: an abnormal disconnect for the broker)
Properties are objects keyed by paho's property names (UserProperty is a list of [key, value] pairs,
CorrelationData is text). Events (field "ev"): ready, connack, suback, unsuback, sent, published, message,
disconnect, error.
"""
import json
import os
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

lock = threading.Lock()


def emit(event, **fields):
    fields["ev"] = event
    with lock:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()


def props_out(props):
    if props is None:
        return {}
    data = props.json()
    if "UserProperty" in data:
        data["UserProperty"] = [list(p) for p in data["UserProperty"]]
    return data


def props_in(packet_type, spec):
    if not spec:
        return None
    props = Properties(packet_type)
    for name, value in spec.items():
        if name == "UserProperty":
            value = [tuple(p) for p in value]
        elif name == "CorrelationData":
            value = value.encode("utf-8")
        setattr(props, name, value)
    return props


def code(rc):
    """A reason code object, a plain int or a list of either, as ints."""
    if isinstance(rc, list):
        return [code(r) for r in rc]
    value = getattr(rc, "value", rc)
    return int(value)


client = None
version = 4


def on_connect(c, userdata, flags, rc, properties=None):
    emit("connack", rc=code(rc), session_present=bool(flags.get("session present")), props=props_out(properties))


def on_subscribe(c, userdata, mid, granted, properties=None):
    emit("suback", mid=mid, codes=code(list(granted)))


def on_unsubscribe(c, userdata, mid, properties=None, reasons=None):
    emit("unsuback", mid=mid, codes=code(list(reasons)) if isinstance(reasons, list) else [])


def on_publish(c, userdata, mid):
    emit("published", mid=mid)


def on_message(c, userdata, msg):
    emit(
        "message",
        topic=msg.topic,
        payload=msg.payload.decode("utf-8", "replace"),
        payload_hex=msg.payload.hex(),
        qos=msg.qos,
        retain=bool(msg.retain),
        dup=bool(msg.dup),
        props=props_out(getattr(msg, "properties", None)),
    )


def on_disconnect(c, userdata, rc, properties=None):
    emit("disconnect", rc=code(rc), props=props_out(properties))


def handle(cmd):
    global client, version
    op = cmd["op"]
    if op == "connect":
        version = cmd.get("version", 4)
        protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        if version == 5:
            client = mqtt.Client(client_id=cmd.get("client_id", ""), protocol=protocol)
        else:
            client = mqtt.Client(client_id=cmd.get("client_id", ""), clean_session=cmd.get("clean", True), protocol=protocol)
        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_unsubscribe = on_unsubscribe
        client.on_publish = on_publish
        client.on_message = on_message
        client.on_disconnect = on_disconnect
        will = cmd.get("will")
        if will:
            client.will_set(
                will["topic"], will.get("payload", ""), will.get("qos", 0), will.get("retain", False),
                props_in(PacketTypes.WILLMESSAGE, will.get("props")),
            )
        kwargs = {}
        if version == 5:
            kwargs["clean_start"] = cmd.get("clean", True)
            kwargs["properties"] = props_in(PacketTypes.CONNECT, cmd.get("props"))
        client.connect(cmd["host"], cmd["port"], cmd.get("keepalive", 60), **kwargs)
        client.loop_start()
    elif op == "subscribe":
        qos = cmd.get("qos", 0)
        if version == 5:
            options = SubscribeOptions(qos=qos, noLocal=cmd.get("nl", False), retainAsPublished=cmd.get("rap", False),
                                       retainHandling=cmd.get("rh", 0))
            rc, mid = client.subscribe(cmd["topic"], options=options,
                                       properties=props_in(PacketTypes.SUBSCRIBE, cmd.get("props")))
        else:
            rc, mid = client.subscribe(cmd["topic"], qos)
        emit("sent", op=op, mid=mid, rc=rc)
    elif op == "unsubscribe":
        rc, mid = client.unsubscribe(cmd["topic"])
        emit("sent", op=op, mid=mid, rc=rc)
    elif op == "publish":
        payload = bytes.fromhex(cmd["payload_hex"]) if "payload_hex" in cmd else cmd.get("payload", "")
        info = client.publish(cmd.get("topic", ""), payload, cmd.get("qos", 0), cmd.get("retain", False),
                              props_in(PacketTypes.PUBLISH, cmd.get("props")))
        emit("sent", op=op, mid=info.mid, rc=info.rc)
    elif op == "disconnect":
        kwargs = {}
        if version == 5 and "reason" in cmd:
            from paho.mqtt.reasoncodes import ReasonCodes
            kwargs["reasoncode"] = ReasonCodes(PacketTypes.DISCONNECT, identifier=cmd["reason"])
        if version == 5 and cmd.get("props"):
            kwargs["properties"] = props_in(PacketTypes.DISCONNECT, cmd["props"])
        client.disconnect(**kwargs)
        client.loop_stop()
        emit("sent", op=op)
    elif op == "drop":
        os._exit(0)
    else:
        emit("error", message="unknown op " + op)


def main():
    emit("ready", paho=mqtt.__version__ if hasattr(mqtt, "__version__") else "")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            handle(json.loads(line))
        except Exception as error:  # reported to the test, which fails with the message
            emit("error", message=repr(error))
    os._exit(0)


main()
