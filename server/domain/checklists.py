"""Guided checklists for the common faults engineers handle on their own (S8a).

S8a names three: a unit that will not power on, a lost signal, a stream that fails to
push (设备无法开机、信号中断、推流失败). Each device type gets its own steps for each,
in the order a remote engineer walks a customer through them on the phone: cheapest
and most likely first, the step that needs hands at the venue last. Texts are English
msgids, translated where they are shown. Data only, plus two small lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.text import N_

FAULTS: tuple[str, ...] = ("no_power", "no_signal", "push_failed")
FAULT_TITLES = {
    "no_power": N_("Will not power on"),
    "no_signal": N_("Signal lost"),
    "push_failed": N_("Stream fails to push"),
}
# An audio device's signal is its sound (S8a "signal lost" for a microphone or mixer).
AUDIO_TITLES = {"no_signal": N_("No sound")}
DEVICE_TYPES = ("camera", "encoder", "mixer", "audio", "other")


@dataclass(frozen=True)
class Step:
    id: str  # stable, recorded with the job when the engineer finishes
    text: str  # msgid: what to ask the customer to do
    onsite: bool = False  # needs someone at the venue: if it comes to this, escalate


@dataclass(frozen=True)
class Checklist:
    device_type: str
    fault: str
    steps: tuple[Step, ...]

    @property
    def title(self) -> str:
        if self.device_type == "audio" and self.fault in AUDIO_TITLES:
            return AUDIO_TITLES[self.fault]
        return FAULT_TITLES[self.fault]


def _s(step_id: str, text: str, onsite: bool = False) -> Step:
    return Step(step_id, text, onsite)


# Steps every device shares, so each list reads the same way.
POWER_SOURCE = _s("power.source", N_("Check the socket works: plug in a phone charger or a lamp."))
POWER_CABLE = _s("power.cable", N_("Reseat the power cable at both ends; try the spare cable from the case."))
POWER_HOLD = _s("power.hold", N_("Hold the power button for 3 seconds and watch for any light."))
POWER_SWAP = _s("power.swap", N_("Still dead: the unit needs swapping. Escalate to onsite."), onsite=True)
SIGNAL_CABLE = _s("signal.cable", N_("Follow the video cable from source to input: reseat both ends."))
SIGNAL_SPARE = _s("signal.spare", N_("Swap in the spare cable from the case, then another input port."))
SIGNAL_ONSITE = _s("signal.onsite", N_("Still no picture: cabling at the venue needs an engineer. Escalate to onsite."), onsite=True)
PUSH_NET = _s("push.network", N_("Check the network: open any website on the same network, or test speed (at least 2× the bitrate)."))
PUSH_KEY = _s("push.key", N_("Re-copy the push URL and stream key from the platform (keys expire; no spaces)."))
PUSH_PLATFORM = _s("push.platform", N_("Ask the customer to check the platform's backstage: is the live room open and not banned?"))
PUSH_BITRATE = _s("push.bitrate", N_("Lower the bitrate (e.g. 6 Mbps for 1080p) and restart the push."))

CHECKLISTS: dict[tuple[str, str], tuple[Step, ...]] = {
    ("camera", "no_power"): (
        _s("camera.battery", N_("Swap in a charged battery; check the battery contacts are clean.")),
        _s("camera.dc", N_("Run it on the mains adapter instead of the battery.")),
        POWER_SOURCE, POWER_HOLD, POWER_SWAP,
    ),
    ("camera", "no_signal"): (
        _s("camera.output", N_("Menu → output settings: SDI/HDMI output on, format 1080p50 as the mixer expects.")),
        _s("camera.recording", N_("Check the camera is not in playback mode.")),
        SIGNAL_CABLE, SIGNAL_SPARE, SIGNAL_ONSITE,
    ),
    ("camera", "push_failed"): (
        _s("camera.stream_mode", N_("If the camera streams by itself: check its streaming menu is on and the network icon shows.")),
        PUSH_NET, PUSH_KEY, PUSH_BITRATE,
        _s("camera.via_encoder", N_("Still failing: route the camera through the encoder instead."), onsite=True),
    ),
    ("encoder", "no_power"): (
        POWER_SOURCE, POWER_CABLE,
        _s("encoder.battery", N_("Battery models: check the battery is seated and charged (LED colour).")),
        POWER_HOLD, POWER_SWAP,
    ),
    ("encoder", "no_signal"): (
        _s("encoder.input", N_("Encoder screen or web page: is the right input (HDMI/SDI) selected and showing a resolution?")),
        _s("encoder.format", N_("Match the source format: set the camera or mixer output to 1080p50/1080p25.")),
        SIGNAL_CABLE, SIGNAL_SPARE, SIGNAL_ONSITE,
    ),
    ("encoder", "push_failed"): (
        PUSH_NET,
        _s("encoder.bonding", N_("4G/5G bonding: check each SIM shows signal and data; disable a failing link.")),
        PUSH_KEY, PUSH_PLATFORM, PUSH_BITRATE,
        _s("encoder.reboot", N_("Restart the encoder and push again; note the error code it shows.")),
        _s("encoder.onsite", N_("Still failing with good network and keys: escalate to onsite."), onsite=True),
    ),
    ("mixer", "no_power"): (
        POWER_SOURCE, POWER_CABLE,
        _s("mixer.psu", N_("External power brick: check its light; try the spare brick.")),
        POWER_HOLD, POWER_SWAP,
    ),
    ("mixer", "no_signal"): (
        _s("mixer.inputs", N_("Mixer multiview: which inputs are black? Only one → that source or cable; all → the mixer.")),
        _s("mixer.program", N_("Check the program output goes to the encoder, and the output format matches it.")),
        SIGNAL_CABLE, SIGNAL_SPARE, SIGNAL_ONSITE,
    ),
    ("mixer", "push_failed"): (
        _s("mixer.software", N_("Streaming from the mixer (e.g. ATEM Mini Pro): check the streaming key in its software.")),
        PUSH_NET, PUSH_KEY, PUSH_PLATFORM, PUSH_BITRATE,
        _s("mixer.via_encoder", N_("Still failing: send the program output through a separate encoder."), onsite=True),
    ),
    ("audio", "no_power"): (
        _s("audio.batteries", N_("Wireless packs: fresh AA batteries or a charged battery pack.")),
        POWER_SOURCE, POWER_CABLE, POWER_HOLD, POWER_SWAP,
    ),
    ("audio", "no_signal"): (
        _s("audio.mute", N_("Check mute, gain and the channel fader on the mixer; watch the level meters.")),
        _s("audio.frequency", N_("Wireless: receiver and pack on the same frequency; scan and move to a clear channel.")),
        _s("audio.cable", N_("Follow the audio cable from microphone or mixer to input: reseat both ends.")),
        _s("audio.spare", N_("Swap in the spare audio cable from the case, then another input channel.")),
        _s("audio.onsite", N_("Still no sound: cabling at the venue needs an engineer. Escalate to onsite."), onsite=True),
    ),
    ("audio", "push_failed"): (
        _s("audio.embed", N_("No sound in the stream: check the audio reaches the encoder (embedded or analogue input selected).")),
        _s("audio.sync", N_("Sound out of sync: set the audio delay on the encoder or mixer.")),
        PUSH_NET, PUSH_KEY,
    ),
    ("other", "no_power"): (POWER_SOURCE, POWER_CABLE, POWER_HOLD, POWER_SWAP),
    ("other", "no_signal"): (SIGNAL_CABLE, SIGNAL_SPARE, SIGNAL_ONSITE),
    ("other", "push_failed"): (PUSH_NET, PUSH_KEY, PUSH_PLATFORM, PUSH_BITRATE),
}

# Words in a symptom (as agents write it, Chinese or English) that point at one fault.
_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("push_failed", ("推流", "推不", "鉴权", "码率", "push", "stream key", "rtmp", "bitrate")),
    ("no_power", ("无法开机", "不开机", "开不了机", "断电", "电源", "没电", "power", "won't turn on")),
    ("no_signal", ("无信号", "信号", "黑屏", "没有画面", "无画面", "无声", "杂音", "signal", "black screen", "no picture")),
)


def checklist(device_type: str, fault: str) -> Checklist:
    """The steps for one device type and fault; unknown device types get the general list."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    kind = device_type if (device_type, fault) in CHECKLISTS else "other"
    return Checklist(kind, fault, CHECKLISTS[(kind, fault)])


def likely_fault(symptom: str | None) -> str | None:
    """Which of the S8a faults a symptom describes, to open that checklist first."""
    text = (symptom or "").lower()
    for fault, words in _HINTS:
        if any(w in text for w in words):
            return fault
    return None


def checklists_for(device_type: str, symptom: str | None = None) -> list[Checklist]:
    """All three checklists for a device, the one the symptom points at first."""
    first = likely_fault(symptom)
    order = sorted(FAULTS, key=lambda f: f != first)
    return [checklist(device_type, f) for f in order]
