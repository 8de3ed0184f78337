// TEMPORARY stub of the file-serving contract.
import Hummingbird
import HTTPTypes
import Logging

public enum RepoPath { public static func normalize(_ tail: String) throws(FileServingError) -> [String] { [] } }
public enum FileServingError: Error, Sendable, Equatable { case badPath(String), notFound, isDirectory }
public struct StaticFileResponder: Sendable {
    public init(logger: Logger) {}
    public func respond(to request: Request, path: String, extraHeaders: HTTPFields = [:]) async throws -> Response { fatalError() }
}
public enum ConfinedPath { public static func resolve(root: String, segments: [String], alsoAllowed: [String] = []) throws(FileServingError) -> String { "" } }
