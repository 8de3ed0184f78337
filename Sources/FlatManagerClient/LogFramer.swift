/// Frames job log chunks as the reference clients print them (client.md A.5): every line, or the piece of a line
/// that a chunk holds, is prefixed with `| `; line endings are kept, so a line cut between two polls shows as
/// `| running build-updat| e-repo`.
enum LogFramer {
    static func frame(_ chunk: String) -> String {
        var out = ""
        var line = ""
        for ch in chunk {
            line.append(ch)
            // "\r\n" is one Character in Swift, so this covers \n, \r and \r\n as Python's splitlines does.
            if ch == "\n" || ch == "\r" || ch == "\r\n" {
                out += "| " + line
                line = ""
            }
        }
        if !line.isEmpty { out += "| " + line }
        return out
    }

    /// Seconds to sleep after a poll, from the number of polls in a row without new log (A.5 step 5).
    static func pollDelay(quietPolls: Int) -> Double {
        switch quietPolls {
        case ...1: 1
        case 2...4: 3
        case 5...14: 5
        case 15...29: 10
        default: 60
        }
    }
}
