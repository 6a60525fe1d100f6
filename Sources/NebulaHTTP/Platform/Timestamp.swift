import Foundation

/// Timestamps for logs and records: ISO 8601 in UTC with milliseconds.
enum Timestamp {
    /// `2026-11-26T12:00:00.123Z`, formatted by hand: thread-safe and cheap (a formatter object per log line
    /// cost more than the invocation it describes).
    static func iso8601(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        let millis = min(999, Int((t - Double(seconds)) * 1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let d = Footprint.digits
        return "\(parts.tm_year + 1900)-\(d(Int(parts.tm_mon) + 1, 2))-\(d(Int(parts.tm_mday), 2))T\(d(Int(parts.tm_hour), 2)):"
            + "\(d(Int(parts.tm_min), 2)):\(d(Int(parts.tm_sec), 2)).\(d(millis, 3))Z"
    }

    static func now() -> String { iso8601(Date()) }
}
