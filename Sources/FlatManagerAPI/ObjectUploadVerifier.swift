import FlatManagerCore
import OSTree

/// Checks an uploaded object as it streams (OSTree's `ObjectVerifier`), naming the object in the 400 it causes.
struct ObjectUploadVerifier: UploadPartVerifier {
    var verifier: ObjectVerifier

    init(_ name: ObjectName) {
        verifier = ObjectVerifier(name)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try verifier.update(bytes)
        } catch {
            throw UploadError.invalidObject("\(verifier.name.fileName): \(error)")
        }
    }

    mutating func finish() throws {
        do {
            try verifier.finish()
        } catch {
            throw UploadError.invalidObject("\(verifier.name.fileName): \(error)")
        }
    }
}
