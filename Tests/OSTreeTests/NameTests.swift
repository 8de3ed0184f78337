import OSTree
import SystemPackage
import Testing

@Suite("ObjectName")
struct ObjectNameTests {
    static let hex = "ba5095f7b74a4316e1777d8081a5be93640f36b47553e85dedfdc89810035646"

    @Test(arguments: ObjectType.allCases)
    func acceptsEveryUploadableType(_ type: ObjectType) throws {
        let name = try #require(ObjectName("\(Self.hex).\(type.rawValue)"))
        #expect(name.checksum == Self.hex)
        #expect(name.type == type)
        #expect(name.fileName == "\(Self.hex).\(type.rawValue)")
        #expect(name.relativePath.string == "objects/ba/\(Self.hex.dropFirst(2)).\(type.rawValue)")
    }

    @Test(arguments: [
        "\(hex).commitmeta", "\(hex).file", "\(hex)", "\(hex).", ".commit", "\(hex.uppercased()).commit",
        "\(hex.dropLast()).commit", "\(hex)0.commit", "\(hex).commit.x", "\(hex.dropLast())g.dirtree",
        "../\(hex.dropFirst(3)).commit", "",
    ])
    func rejectsAnythingElse(_ fileName: String) {
        #expect(ObjectName(fileName) == nil)
    }
}

@Suite("DeltaPartName and UploadFileName")
struct DeltaPartNameTests {
    static let scratch = "ulCV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVkY"
    static let fromTo = "ulCV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVkY-ZKwx4yOvL2HM2c8CDqLeesZydt1CUH0G8bU3S4+1+dA"

    @Test func acceptsSuperblockAndNumberedPartsOfBothNameForms() throws {
        let superblock = try #require(DeltaPartName("\(Self.scratch).superblock.delta"))
        #expect(superblock.deltaName == Self.scratch)
        #expect(superblock.part == "superblock")
        #expect(superblock.relativePath.string == "deltas/ul/CV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVkY/superblock")
        let part = try #require(DeltaPartName("\(Self.fromTo).12.delta"))
        #expect(part.relativePath.string == "deltas/ul/\(Self.fromTo.dropFirst(2))/12")
    }

    @Test(arguments: [
        "\(scratch)..delta", "\(scratch).super.delta", "\(scratch).1a.delta", "\(scratch).0.deltas",
        "\(scratch.dropLast()).0.delta", "\(scratch)A.0.delta", "\(scratch)x\(scratch)A.0.delta",
        "\(scratch.dropLast())=.0.delta", "\(scratch.dropLast())/.0.delta", "\(scratch).0", "\(scratch).0.delta.delta",
    ])
    func rejectsMalformedDeltaPartNames(_ fileName: String) {
        #expect(DeltaPartName(fileName) == nil)
    }

    @Test func uploadNamesAreObjectsOrDeltaPartsAndNeverContainSlashes() {
        #expect(
            UploadFileName("\(ObjectNameTests.hex).filez")
                == .object(ObjectName(checksum: ObjectNameTests.hex, type: .filez)))
        #expect(
            UploadFileName("\(Self.scratch).0.delta").map { if case .deltaPart = $0 { true } else { false } } == true)
        #expect(UploadFileName("x/\(ObjectNameTests.hex).filez") == nil)
        #expect(UploadFileName("\(ObjectNameTests.hex).commitmeta") == nil)
        #expect(UploadFileName("summary") == nil)
    }
}

@Suite("Delta")
struct DeltaTests {
    static let from = "ba5095f7b74a4316e1777d8081a5be93640f36b47553e85dedfdc89810035646"
    static let to = "64ac31e323af2f61ccd9cf020ea2de7ac67276dd42507d06f1b5374b8fb5f9d0"

    @Test func namesAFromScratchDeltaByItsTargetInModifiedBase64() {
        let delta = Delta(from: nil, to: Self.from)
        #expect(delta.name == "ulCV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVkY")
        #expect(delta.directory.string == "deltas/ul/CV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVkY")
        #expect(delta.displayName == "nothing-\(Self.from)")
    }

    @Test func namesAFromToDeltaWithADash() {
        let delta = Delta(from: Self.from, to: Self.to)
        #expect(delta.name == "ulCV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVkY-ZKwx4yOvL2HM2c8CDqLeesZydt1CUH0G8bU3S4+1+dA")
        #expect(delta.displayName == "\(Self.from)-\(Self.to)")
    }

    @Test func replacesSlashesWithUnderscores() {
        let delta = Delta(from: nil, to: String(repeating: "ff", count: 32))
        #expect(delta.name == String(repeating: "_", count: 42) + "8")
    }

    @Test func decodesWhatItEncodes() {
        for delta in [
            Delta(from: nil, to: Self.to), Delta(from: Self.from, to: Self.to),
            Delta(from: nil, to: String(repeating: "ff", count: 32)),
        ] {
            #expect(Delta(name: delta.name) == delta)
        }
    }

    @Test(arguments: [
        "", ".tmp", "ulCV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVkZ", "ulCV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVk",
        "ulCV97dKQxbhd32AgaW+k2QPNrR1U+hd7f3ImBADVkY-", "a-b-c", "ulCV97dKQxbhd32AgaW/k2QPNrR1U+hd7f3ImBADVkY",
    ])
    func refusesNamesThatAreNotDeltas(_ name: String) {
        #expect(Delta(name: name) == nil)
    }
}
