"""Hypothesis strategies for every Connect message (valid values only)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from connect.wire import messages as m

UINT32 = st.integers(0, 2**32 - 1)
UINT64 = st.integers(0, 2**64 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
PERCENT = st.integers(0, 100)
TEXT = st.text(max_size=40)
ID = st.text(max_size=32)  # at most 128 bytes in UTF-8
NONEMPTY_ID = st.text(min_size=1, max_size=32)

BOOL = st.booleans()

versions = st.builds(m.ProtocolVersion, st.integers(0, 50), st.integers(0, 50))
version_ranges = st.tuples(versions, versions).map(lambda p: m.VersionRange(min(p), max(p)))
failures = st.builds(m.Failure, st.sampled_from(m.ErrorCode), TEXT)
restrictions = st.lists(
    st.builds(
        m.Restriction,
        st.sampled_from(m.CommandKind),
        st.lists(TEXT, min_size=1, max_size=3).map(tuple),
    ),
    max_size=3,
).map(tuple)
capabilities = st.builds(
    m.Capabilities,
    audio_codecs=st.lists(TEXT, max_size=4).map(tuple),
    volume=st.builds(m.VolumeCapabilities, st.booleans(), st.booleans(), UINT32),
    seek=st.booleans(),
    queue=st.booleans(),
    transfer_source=st.booleans(),
    transfer_target=st.booleans(),
    output_delay_us=UINT32,
    max_volume=PERCENT,
    no_timed_start=st.booleans(),
    position_uncertainty_ms=UINT32,
    group_member=st.booleans(),
)
device_infos = st.builds(
    m.DeviceInfo,
    id=ID,
    name=TEXT,
    type=st.sampled_from(m.DeviceType),
    protocol=version_ranges,
    capabilities=capabilities,
    model=TEXT,
    manufacturer=TEXT,
    software_version=TEXT,
    restrictions=restrictions,
    ws_path=TEXT,
    pairing=st.sampled_from(m.PairingMode),
    revision=UINT64,
)
clients = st.builds(m.ClientIdentity, ID, TEXT, st.sampled_from(m.DeviceType), TEXT)
queue_items = st.builds(m.QueueItem, NONEMPTY_ID, TEXT, TEXT, TEXT, TEXT, UINT32, TEXT, TEXT)
queues = st.lists(queue_items, max_size=12, unique_by=lambda item: item.uid).map(tuple)
clocks = st.builds(
    m.PlaybackClock,
    UINT64,
    INT64,
    st.floats(min_value=0.001, max_value=4.0),
    st.booleans(),
)


@st.composite
def groups(draw: st.DrawFn) -> m.Group:
    """A roster: unique device ids and ranks, its leader a PLAYING member."""
    ids = draw(st.lists(NONEMPTY_ID, min_size=1, max_size=5, unique=True))
    ranks = draw(st.lists(UINT32, min_size=len(ids), max_size=len(ids), unique=True))
    members = [
        m.GroupMember(i, r, draw(st.sampled_from(m.GroupMemberPhase)), draw(PERCENT), draw(BOOL))
        for i, r in zip(ids, ranks, strict=True)
    ]
    lead = draw(st.integers(0, len(members) - 1))
    members[lead] = replace(members[lead], phase=m.GroupMemberPhase.PLAYING)
    return m.Group(draw(NONEMPTY_ID), draw(UINT64), ids[lead], tuple(members))


@st.composite
def playback_states(draw: st.DrawFn) -> m.PlaybackState:
    """A PlaybackState whose current uid, if any, is in its queue."""
    queue = draw(queues)
    current = draw(st.sampled_from(["", *(item.uid for item in queue)]))
    return m.PlaybackState(
        session_id=draw(ID),
        revision=draw(UINT64),
        device_id=draw(TEXT),
        queue=queue,
        current_uid=current,
        clock=draw(clocks),
        status=draw(st.sampled_from(m.PlaybackStatus)),
        volume=draw(PERCENT),
        muted=draw(st.booleans()),
        shuffle=draw(st.booleans()),
        shuffle_seed=draw(UINT64),
        repeat=draw(st.sampled_from(m.RepeatMode)),
        active=draw(st.booleans()),
        last_command_id=draw(TEXT),
        error=draw(st.none() | failures),
        restrictions=draw(restrictions),
        live=draw(st.booleans()),
        now_playing=draw(st.none() | st.builds(m.NowPlaying, TEXT, TEXT, TEXT)),
        epoch=draw(UINT64),
        group=draw(st.none() | groups()),
    )


@st.composite
def set_queues(draw: st.DrawFn) -> m.SetQueue:
    """A SetQueue whose start uid, if any, is among its items."""
    items = draw(queues)
    start = draw(st.sampled_from(["", *(item.uid for item in items)]))
    return m.SetQueue(items, start, draw(UINT64), draw(st.booleans()))


actions = st.one_of(
    st.builds(m.Play, TEXT, st.none() | UINT64),
    st.just(m.Pause()),
    st.just(m.Resume()),
    st.builds(m.Seek, UINT64),
    st.just(m.SkipNext()),
    st.just(m.SkipPrevious()),
    st.builds(m.SetVolume, PERCENT, st.none() | st.booleans()),
    set_queues(),
    st.builds(m.AddToQueue, queues, TEXT),
    st.builds(
        m.RemoveFromQueue, st.lists(ID.filter(bool), min_size=1, max_size=5, unique=True).map(tuple)
    ),
    st.builds(m.MoveInQueue, ID.filter(bool), ID),
    st.just(m.ClearQueue()),
    st.builds(
        m.SetOptions,
        st.none() | st.booleans(),
        st.none() | UINT64,
        st.none() | st.sampled_from(m.RepeatMode),
    ),
)
transfer_options = st.builds(
    m.TransferOptions,
    st.sampled_from(m.TransferMode),
    st.sampled_from(m.VolumePolicy),
    st.sampled_from(m.SourceAfter),
    st.booleans(),
    UINT32,
)
timings = st.builds(
    m.TransferTimings, UINT32, UINT32, UINT32, INT64, INT64, INT64, INT64, INT64, INT64
)
FINGERPRINT = st.text("0123456789abcdef", min_size=64, max_size=64)
# A source's commit names its target: not at all, an open one (http), or a pinned one (https).
transfer_targets = st.one_of(
    st.just(("", "")),
    st.tuples(ID, st.text(max_size=40).map(lambda rest: "http://" + rest)),
    st.tuples(FINGERPRINT, st.text(max_size=40).map(lambda rest: "https://" + rest)),
)
transfer_commits = st.tuples(
    st.builds(
        m.TransferCommit,
        TEXT,
        st.sampled_from(m.TransferRole),
        INT64,
        UINT64,
        UINT32,
        st.sampled_from(m.SourceAfter),
        UINT64,
    ),
    transfer_targets,
    UINT64,
).map(lambda p: replace(p[0], target_device_id=p[1][0], target_url=p[1][1], epoch=p[2]))

# Groups (protocol 1.2).
timelines = st.builds(
    m.GroupTimeline,
    group_id=NONEMPTY_ID,
    group_epoch=UINT64,
    session_id=ID,
    revision=UINT64,
    item=st.none() | queue_items,
    anchor_us=INT64,
    position_us=UINT64,
    rate=st.floats(min_value=0.001, max_value=4.0),
    playing=BOOL,
    next_item=st.none() | queue_items,
    clock_offset_us=INT64,
    offset_uncertainty_us=UINT32,
)
group_joins = st.builds(
    lambda group, timeline, at, fade: m.GroupJoin(
        group, replace(timeline, group_id=group.group_id), at, fade
    ),
    groups(),
    timelines,
    INT64,
    UINT32,
)
group_bodies: st.SearchStrategy[m.Body] = st.one_of(
    st.builds(m.GroupLead, groups(), st.none() | playback_states()),
    group_joins,
    st.builds(m.GroupLeave, NONEMPTY_ID, UINT64, INT64, UINT32, BOOL),
    timelines,
    st.builds(m.GroupVolume, NONEMPTY_ID, ID, PERCENT, BOOL),
    st.builds(m.GroupDone, NONEMPTY_ID, st.sampled_from(m.GroupStep), UINT64, INT64, UINT64),
    st.builds(m.GroupRefused, NONEMPTY_ID, st.sampled_from(m.GroupStep), failures, UINT64),
)

bodies: st.SearchStrategy[m.Body] = st.one_of(
    st.builds(m.Hello, version_ranges, clients, st.none() | st.sampled_from(m.Role), TEXT),
    st.builds(m.Welcome, versions, st.sampled_from(m.Role), device_infos, TEXT, UINT32),
    st.builds(m.TimeRequest, INT64),
    st.builds(m.TimeResponse, INT64, INT64, INT64),
    st.builds(m.Command, ID, actions, st.none() | UINT64),
    st.builds(m.CommandResult, TEXT, UINT64, st.none() | failures),
    st.builds(m.StateSnapshot, playback_states(), st.sampled_from(m.StateChangeReason)),
    st.builds(
        m.TransferOffer,
        ID,
        playback_states(),
        transfer_options,
        TEXT,
        INT64,
        PERCENT,
        st.booleans(),
        UINT32,
    ),
    st.builds(m.TransferReady, TEXT, UINT64, INT64, UINT32, UINT32, INT64),
    st.builds(m.TransferRejected, TEXT, failures, TEXT),
    transfer_commits,
    st.builds(m.TransferAborted, TEXT, failures),
    st.builds(
        m.TransferDone,
        TEXT,
        st.sampled_from(m.TransferRole),
        INT64,
        UINT64,
        UINT64,
        st.none() | timings,
    ),
    st.builds(m.Heartbeat, UINT64),
    st.builds(m.Goodbye, st.sampled_from(m.GoodbyeReason), TEXT, st.none() | version_ranges),
    st.builds(m.Error, st.sampled_from(m.ErrorCode), TEXT, UINT64, TEXT),
    group_bodies,
)
envelopes = st.builds(
    m.Envelope, st.integers(1, 2**64 - 1), ID, bodies, st.text(max_size=60), st.text(max_size=60)
)

# Access (HTTP bodies of the owner endpoints).
token_infos = st.builds(m.TokenInfo, ID, clients, st.sampled_from(m.Role), UINT64, UINT64)
token_lists = st.lists(token_infos, max_size=5).map(lambda t: m.TokenList(tuple(t)))
pairing_codes = st.builds(m.PairingCode, TEXT)
rename_requests = st.builds(m.RenameRequest, TEXT)
PATH_ID = st.text("abcdefABCDEF0123456789._~-", min_size=1, max_size=128)
transfer_statuses = st.builds(m.TransferStatus, PATH_ID, st.sampled_from(m.TransferPhase))
