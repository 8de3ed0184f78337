import HTTPTypes
import NIOCore
import Testing

@testable import FlatManagerAPI

/// The name a delta worker is logged under (server.md §5.6: the peer address, honouring forwarding headers).
@Suite("Delta worker peer names")
struct WorkerPeerNameTests {
    static let peer = try? SocketAddress(ipAddress: "10.0.0.5", port: 40_000)

    static func headers(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }

    @Test("without forwarding headers the worker is named by the connection's address and port")
    func peerAddressWithoutProxy() {
        // Act
        let name = workerPeerName(headers: HTTPFields(), peer: Self.peer)

        // Assert
        #expect(name == "10.0.0.5:40000")
    }

    @Test(
        "a proxy's header names the worker: Forwarded for= first, then X-Forwarded-For, then X-Real-IP",
        arguments: [
            (
                [("Forwarded", #"for="203.0.113.7";proto=https, for=10.1.1.1"#), ("X-Forwarded-For", "198.51.100.1")],
                "203.0.113.7"
            ),
            ([("Forwarded", "proto=https"), ("X-Forwarded-For", "198.51.100.1, 10.1.1.1")], "198.51.100.1"),
            ([("X-Real-IP", "192.0.2.44"), ("X-Forwarded-For", " 198.51.100.2 ")], "198.51.100.2"),
            ([("X-Real-IP", "192.0.2.44")], "192.0.2.44"),
            ([("X-Forwarded-For", "")], "10.0.0.5:40000"),
        ])
    func forwardedNames(pairs: [(String, String)], expected: String) {
        // Act
        let name = workerPeerName(headers: Self.headers(pairs), peer: Self.peer)

        // Assert
        #expect(name == expected)
    }

    @Test("an IPv6 peer is written with brackets before its port")
    func ipv6Peer() throws {
        // Arrange
        let peer = try SocketAddress(ipAddress: "2001:db8::1", port: 8080)

        // Act
        let name = workerPeerName(headers: HTTPFields(), peer: peer)

        // Assert
        #expect(name == "[2001:db8::1]:8080")
    }
}
