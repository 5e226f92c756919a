-- kdwatch_stream.lua: Wireshark/tshark dissector for kdwatch stream recordings
-- (pcapng link type 147 = DLT_USER0; docs/recording.md). Each frame is one
-- direction byte (0 host -> target, 1 target -> host) followed by a chunk of
-- the serial/socket/USB byte stream. The chunk is split into KD packets
-- (16-byte header, payload, 0xAA trailer), break-in bytes and unframed bytes.
-- Packets are not reassembled across frames: a packet cut by the end of a
-- chunk is shown as such.
--
--   tshark -X lua_script:tools/wireshark/kdwatch_stream.lua -r session.pcapng -V
--   or copy the file into ~/.local/lib/wireshark/plugins/

local kd = Proto("kdstream", "kdwatch KD stream")

local directions = { [0] = "host -> target", [1] = "target -> host" }
local leaders = { [0x30303030] = "data (0000)", [0x69696969] = "control (iiii)" }
local types = {
    [0] = "UNUSED", [1] = "STATE_CHANGE32", [2] = "STATE_MANIPULATE", [3] = "DEBUG_IO",
    [4] = "ACKNOWLEDGE", [5] = "RESEND", [6] = "RESET", [7] = "STATE_CHANGE64",
    [8] = "POLL_BREAKIN", [9] = "TRACE_IO", [10] = "CONTROL_REQUEST", [11] = "FILE_IO",
}
local apis = {
    [0x3130] = "ReadVirtualMemory", [0x3131] = "WriteVirtualMemory", [0x3132] = "GetContext",
    [0x3133] = "SetContext", [0x3134] = "WriteBreakPoint", [0x3135] = "RestoreBreakPoint",
    [0x3136] = "Continue", [0x3137] = "ReadControlSpace", [0x3138] = "WriteControlSpace",
    [0x3139] = "ReadIoSpace", [0x313A] = "WriteIoSpace", [0x313B] = "Reboot",
    [0x313C] = "Continue2", [0x313D] = "ReadPhysicalMemory", [0x313E] = "WritePhysicalMemory",
    [0x313F] = "QuerySpecialCalls", [0x3140] = "SetSpecialCall", [0x3141] = "ClearSpecialCalls",
    [0x3142] = "SetInternalBreakPoint", [0x3143] = "GetInternalBreakPoint",
    [0x3144] = "ReadIoSpaceExtended", [0x3145] = "WriteIoSpaceExtended", [0x3146] = "GetVersion",
    [0x3147] = "WriteBreakPointEx", [0x3148] = "RestoreBreakPointEx", [0x3149] = "CauseBugCheck",
    [0x3150] = "SwitchProcessor", [0x3151] = "PageIn", [0x3152] = "ReadMachineSpecificRegister",
    [0x3153] = "WriteMachineSpecificRegister", [0x3156] = "SearchMemory",
    [0x3157] = "GetBusData", [0x3158] = "SetBusData", [0x3159] = "CheckLowMemory",
    [0x315A] = "ClearAllInternalBreakpoints", [0x315B] = "FillMemory", [0x315C] = "QueryMemory",
    [0x315D] = "SwitchPartition", [0x315E] = "WriteCustomBreakpoint", [0x315F] = "GetContextEx",
    [0x3160] = "SetContextEx",
}
local states = { [0x3030] = "Exception", [0x3031] = "LoadSymbols", [0x3032] = "CommandString" }

local f = {
    direction = ProtoField.uint8("kdstream.direction", "Direction", base.DEC, directions),
    packet = ProtoField.none("kdstream.packet", "KD packet"),
    leader = ProtoField.uint32("kdstream.leader", "Leader", base.HEX, leaders),
    ptype = ProtoField.uint16("kdstream.type", "Type", base.DEC, types),
    count = ProtoField.uint16("kdstream.count", "ByteCount", base.DEC),
    id = ProtoField.uint32("kdstream.id", "PacketId", base.HEX),
    checksum = ProtoField.uint32("kdstream.checksum", "Checksum", base.HEX),
    checksum_ok = ProtoField.bool("kdstream.checksum_ok", "Checksum good"),
    api = ProtoField.uint32("kdstream.api", "ApiNumber", base.HEX, apis),
    status = ProtoField.uint32("kdstream.status", "ReturnStatus", base.HEX),
    state = ProtoField.uint32("kdstream.state", "NewState", base.HEX, states),
    payload = ProtoField.bytes("kdstream.payload", "Payload"),
    trailer = ProtoField.uint8("kdstream.trailer", "Trailer", base.HEX),
    breakin = ProtoField.bytes("kdstream.breakin", "Break-in"),
    unframed = ProtoField.bytes("kdstream.unframed", "Unframed bytes"),
    cut = ProtoField.bytes("kdstream.cut", "Packet continues in the next chunk"),
}
kd.fields = { f.direction, f.packet, f.leader, f.ptype, f.count, f.id, f.checksum,
              f.checksum_ok, f.api, f.status, f.state, f.payload, f.trailer, f.breakin,
              f.unframed, f.cut }

-- Length of a leader run (4 equal bytes, 0x30 or 0x69) starting at off, else nil.
local function leader_at(tvb, off, len)
    if off + 4 > len then return nil end
    local b = tvb(off, 1):uint()
    if b ~= 0x30 and b ~= 0x69 then return nil end
    for i = 1, 3 do
        if tvb(off + i, 1):uint() ~= b then return nil end
    end
    return b
end

-- One packet at off; returns the offset after it and a short summary.
local function packet(tvb, tree, off, len, lead)
    if off + 16 > len then
        tree:add(f.cut, tvb(off, len - off))
        return len, "cut header"
    end
    local ptype = tvb(off + 4, 2):le_uint()
    local count = tvb(off + 6, 2):le_uint()
    local total = 16
    if lead == 0x30 then total = 16 + count + 1 end
    local avail = math.min(total, len - off)
    local t = tree:add(f.packet, tvb(off, avail))
    t:add_le(f.leader, tvb(off, 4))
    t:add_le(f.ptype, tvb(off + 4, 2))
    t:add_le(f.count, tvb(off + 6, 2))
    t:add_le(f.id, tvb(off + 8, 4))
    t:add_le(f.checksum, tvb(off + 12, 4))
    local name = types[ptype] or string.format("type %d", ptype)
    local summary = name
    t:set_text(string.format("KD packet: %s, id 0x%08x, %d bytes", name,
                             tvb(off + 8, 4):le_uint(), count))
    if lead ~= 0x30 or count == 0 then
        return off + 16, summary
    end
    local have = math.min(count, len - off - 16)
    if have > 0 then
        local p = tvb(off + 16, have)
        t:add(f.payload, p)
        if have == count then
            local sum = 0
            for i = 0, count - 1 do sum = (sum + p(i, 1):uint()) % 4294967296 end
            t:add(f.checksum_ok, sum == tvb(off + 12, 4):le_uint())
        end
        if ptype == 2 and have >= 4 then
            t:add_le(f.api, p(0, 4))
            local api = p(0, 4):le_uint()
            summary = summary .. " " .. (apis[api] or string.format("0x%x", api))
            if have >= 12 then t:add_le(f.status, p(8, 4)) end
        elseif ptype == 7 and have >= 4 then
            t:add_le(f.state, p(0, 4))
            local st = p(0, 4):le_uint()
            summary = summary .. " " .. (states[st % 65536] or string.format("0x%x", st))
        end
    end
    if have < count or off + 16 + count >= len then
        tree:add(f.cut, tvb(off + 16 + have, 0))
        return len, summary .. " (cut)"
    end
    t:add(f.trailer, tvb(off + 16 + count, 1))
    return off + 17 + count, summary
end

function kd.dissector(tvb, pinfo, tree)
    local len = tvb:len()
    if len < 1 then return 0 end
    pinfo.cols.protocol = "KDSTREAM"
    local root = tree:add(kd, tvb(), "kdwatch KD stream")
    root:add(f.direction, tvb(0, 1))
    local dir = tvb(0, 1):uint()
    local parts = {}
    local off = 1
    while off < len do
        local lead = leader_at(tvb, off, len)
        if lead then
            local summary
            off, summary = packet(tvb, root, off, len, lead)
            parts[#parts + 1] = summary
        elseif tvb(off, 1):uint() == 0x62 and dir == 0 then
            root:add(f.breakin, tvb(off, 1))
            parts[#parts + 1] = "break-in"
            off = off + 1
        else
            local start = off
            while off < len and not leader_at(tvb, off, len) do off = off + 1 end
            root:add(f.unframed, tvb(start, off - start))
            parts[#parts + 1] = string.format("%d unframed bytes", off - start)
        end
    end
    pinfo.cols.info = string.format("%s: %s", directions[dir] or "?", table.concat(parts, ", "))
    return len
end

DissectorTable.get("wtap_encap"):add(wtap_encaps.USER0, kd)
