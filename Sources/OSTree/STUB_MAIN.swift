// TEMPORARY stub of the OSTree contract so the Jobs/API modules compile before the real module is merged.
import FlatManagerCore
import Foundation

public struct Command: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    public var workingDirectory: String?
    public var environment: [String: String]
    public var description: String { executable }
    public static func flatpakCommitToBuild(upload: String, build: String, ref: String, commit: String, gpg: GPGSigning, endOfLife: String?, endOfLifeRebase: String?, tokenType: Int32?) -> Command { fatalError() }
    public static func flatpakUpdateBuildRepo(build: String, gpg: GPGSigning) -> Command { fatalError() }
    public static func ostreeCheckoutAppstream(repo: String, ref: String, destination: String) -> Command { fatalError() }
    public static func ostreeCheckoutScreenshots(repo: String, ref: String, destination: String) -> Command { fatalError() }
    public static func flatpakPublish(build: String, repo: String, gpg: GPGSigning, extraCollectionIDs: [String]) -> Command { fatalError() }
    public static func flatpakUpdateRepo(repo: String, gpg: GPGSigning, noUpdateSummary: Bool, noUpdateAppstream: Bool) -> Command { fatalError() }
    public static func flatpakGenerateDelta(repo: String, from: String?, to: String) -> Command { fatalError() }
    public static func flatpakRepublishImport(src: String, tmp: String, ref: String) -> Command { fatalError() }
    public static func flatpakRepublishExport(tmp: String, repo: String, gpg: GPGSigning, endOfLife: String?, endOfLifeRebase: String?) -> Command { fatalError() }
    public static func flatpakPrune(repo: String, dryRun: Bool) -> Command { fatalError() }
    public static func gpgExport(binary: String, homedir: String?, keys: [String]) -> Command { fatalError() }
    public static func hook(argv: [String], workingDirectory: String?, environment: [String: String]) -> Command { fatalError() }
}
public struct CommandOutput: Sendable { public var exitCode: Int32; public var stdout: String; public var stderr: String }
public enum CommandError: Error, Sendable, CustomStringConvertible {
    case launchFailed(command: String, reason: String)
    case failed(command: String, exitCode: Int32, stderr: String)
    case timedOut(command: String, seconds: Int)
    public var description: String { "" }
}
public protocol CommandRunning: Sendable { func run(_ command: Command) async throws -> CommandOutput }
public struct CommandRunner: CommandRunning {
    public init(timeout: Duration? = nil) {}
    public func run(_ command: Command) async throws -> CommandOutput { fatalError() }
}
public struct GPGSigning: Sendable, Equatable {
    public var homedir: String?
    public var keys: [String]
    public init(homedir: String?, keys: [String]) { self.homedir = homedir; self.keys = keys }
    public var arguments: [String] { [] }
}
public enum RepoLayout {
    public static func createBuildRepository(at path: String, parent: String, collectionID: String?) throws {}
}
public enum Refs {
    public static func read(repo: String, ref: String) throws -> String? { nil }
    public static func list(repo: String, prefix: String? = nil) throws -> [String] { [] }
}
public enum ObjectType: String, Sendable, CaseIterable { case dirtree, dirmeta, filez, commit }
public struct ObjectName: Sendable, Hashable {
    public let checksum: String
    public let type: ObjectType
    public init?(_ fileName: String) { fatalError() }
    public init(checksum: String, type: ObjectType) { self.checksum = checksum; self.type = type }
    public var fileName: String { "" }
    public var relativePath: String { "" }
}
public struct DeltaPartName: Sendable, Hashable {
    public let deltaName: String
    public let part: String
    public init?(_ fileName: String) { fatalError() }
    public var relativePath: String { "" }
}
public enum UploadFileName: Sendable, Hashable {
    case object(ObjectName)
    case deltaPart(DeltaPartName)
    public init?(_ fileName: String) { fatalError() }
}
public struct Delta: Sendable, Hashable {
    public var from: String?
    public var to: String
    public init(from: String?, to: String) { self.from = from; self.to = to }
    public init?(name: String) { fatalError() }
    public var name: String { "" }
    public var directory: String { "" }
    public var displayName: String { "" }
}
public struct CommitObject: Sendable {
    public init(data: [UInt8]) throws { fatalError() }
    public var tokenType: Int32? { nil }
    public var refBinding: [String]? { nil }
    public var parent: String? { nil }
}
public struct DeltaSuperblock {
    public var commit: CommitObject
    public init(data: [UInt8]) throws { fatalError() }
}
public struct ObjectVerifier: Sendable {
    public init(_ name: ObjectName) {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) throws {}
    public mutating func finish() throws {}
}
public enum FlatpakRef {
    public static func build(id: String, branch: String, isRuntime: Bool, buildID: Int32, baseURL: String, gpgKey: String?, runtimeRepoURL: String?) -> String { "" }
    public static func mainRepo(id: String, branch: String, isRuntime: Bool, repo: RepoConfig, serverBaseURL: String, gpgKey: String?) -> String { "" }
}
public enum DeltaPlanning {
    public static func wantedDeltas(repo: String, config: RepoConfig) throws -> Set<Delta> { [] }
    public static func existingDeltas(repo: String) throws -> Set<Delta> { [] }
}
