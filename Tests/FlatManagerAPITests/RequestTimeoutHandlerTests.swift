import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import FlatManagerAPI

/// The connection deadlines of `RequestTimeoutHandler`, on an embedded channel with a virtual clock.
@Suite("Request timeouts")
struct RequestTimeoutHandlerTests {
    /// An active embedded channel with the handler (header 60 s, idle 30 s).
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            RequestTimeoutHandler(
                headerTimeoutSeconds: 60, idleTimeoutSeconds: 30, logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    static func head(_ headers: HTTPHeaders = [:]) -> HTTPServerRequestPart {
        .head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/api/v1/build", headers: headers))
    }

    @Test("a connection that sends no head is closed when the header deadline passes")
    func silentConnectionCloses() throws {
        // Arrange
        let channel = try Self.channel()

        // Act
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        let openBefore = channel.isActive
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))

        // Assert
        #expect(openBefore)
        #expect(!channel.isActive)
    }

    @Test("body pieces restart the idle deadline, a stalled body is closed")
    func stalledBodyCloses() throws {
        // Arrange
        let channel = try Self.channel()
        try channel.writeInbound(Self.head())

        // Act
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{")))
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        let openWhileTrickling = channel.isActive
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))

        // Assert
        #expect(openWhileTrickling)
        #expect(!channel.isActive)
    }

    @Test("while the server works on a response there is no deadline; after it the header deadline runs again")
    func noDeadlineWhileResponding() throws {
        // Arrange
        let channel = try Self.channel()
        try channel.writeInbound(Self.head())
        try channel.writeInbound(HTTPServerRequestPart.end(nil))

        // Act
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        let openWhileResponding = channel.isActive
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        let openWhileIdle = channel.isActive
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))

        // Assert
        #expect(openWhileResponding)
        #expect(openWhileIdle)
        #expect(!channel.isActive)
    }

    @Test("an upgrade request takes the handler out of the pipeline")
    func upgradeRemovesTheHandler() throws {
        // Arrange
        let channel = try Self.channel()

        // Act
        try channel.writeInbound(Self.head(["upgrade": "websocket", "connection": "upgrade"]))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))

        // Assert
        #expect(channel.isActive)
        #expect(throws: (any Error).self) {
            try channel.pipeline.syncOperations.handler(type: RequestTimeoutHandler.self)
        }
    }

    @Test("zero seconds switch both deadlines off")
    func zeroDisables() throws {
        // Arrange
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            RequestTimeoutHandler(headerTimeoutSeconds: 0, idleTimeoutSeconds: 0, logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        // Act
        channel.embeddedEventLoop.advanceTime(by: .seconds(86_400))
        try channel.writeInbound(Self.head())
        channel.embeddedEventLoop.advanceTime(by: .seconds(86_400))

        // Assert
        #expect(channel.isActive)
    }
}
