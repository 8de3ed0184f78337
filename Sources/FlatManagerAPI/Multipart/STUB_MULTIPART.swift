// TEMPORARY stub of the multipart contract.
import NIOCore

public struct MultipartBoundary { public static func from(contentType: String) -> String? { nil } }
public protocol UploadPartVerifier: Sendable {
    mutating func update(_ bytes: UnsafeRawBufferPointer) throws
    mutating func finish() throws
}
public struct UploadDestination: Sendable {
    public var finalPath: String
    public var verifier: (any UploadPartVerifier)?
    public init(finalPath: String, verifier: (any UploadPartVerifier)?) { self.finalPath = finalPath; self.verifier = verifier }
}
public enum UploadError: Error, Sendable, Equatable {
    case noContentDisposition, noFilename, invalidFilename(String), invalidObject(String), malformedMultipart(String), io(String)
    public var message: String { "" }
}
public struct UploadReceiver {
    public static func receive<S: AsyncSequence>(body: S, boundary: String, tempDirectory: String, destination: (String) throws(UploadError) -> UploadDestination) async throws(UploadError) -> [Int] where S.Element == ByteBuffer { [] }
}
