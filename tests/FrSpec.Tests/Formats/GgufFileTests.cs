using FrSpec.Fuzzing.Mutators;
using System.Runtime.InteropServices;
using FrSpec.Formats.Gguf;
using FrSpec.Numerics;

namespace FrSpec.Tests.Formats;

/// <summary>
/// The GGUF reader on a small file written by <see cref="GgufWriter"/> (every metadata kind, float and quantized
/// tensors, 64-byte alignment), and on targeted corruptions of it: each is one FrSpecException naming the file and
/// the field or tensor.
/// </summary>
public unsafe class GgufFileTests
{
    private static readonly float[] A = Enumerable.Range(0, 4 * 8).Select(i => i * 0.5f).ToArray();

    /// <summary>Metadata of every kind the writer emits, and tensors a (F32 [4, 8]), q (Q4_0 [2, 64]), k (Q4_K [1, 256]), b (F16 [3]).</summary>
    internal static byte[] SmallFile()
    {
        var w = new GgufWriter();
        w.AddString("general.architecture", "test");
        w.SetAlignment(64);
        w.AddUInt32("u32", 7);
        w.AddInt32("i32", -3);
        w.AddUInt64("u64", 1UL << 40);
        w.AddFloat32("f32", 1.5f);
        w.AddFloat64("f64", -2.25);
        w.AddBool("b", true);
        w.AddStrings("strs", ["a b", "", "héllo"]);
        w.AddInt32s("ints", [1, -2, 3]);
        w.AddFloat32s("floats", [0.5f]);
        w.AddTensor("a", GgmlType.F32, [4, 8], s => s.Write(MemoryMarshal.AsBytes(A.AsSpan())));
        w.AddTensor("q", GgmlType.Q4_0, [2, 64], s => s.Write(Enumerable.Range(0, 2 * 2 * 18).Select(i => (byte)i).ToArray()));
        w.AddTensor("k", GgmlType.Q4_K, [1, 256], s => s.Write(new byte[144]));
        w.AddTensor("b", GgmlType.F16, [3], s => s.Write(new byte[6]));
        var ms = new MemoryStream();
        w.WriteTo(ms);
        return ms.ToArray();
    }

    private static string Write(byte[] bytes)
    {
        string path = Path.Combine(TestModels.NewTempDir(), "t.gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ReadsMetadataTensorsAndAlignedData()
    {
        string path = Write(SmallFile());
        using var f = GgufFile.Open(path);
        Assert.Equal(3u, f.Version);
        Assert.Equal(64, f.Alignment);
        Assert.Equal(0, f.DataStart % 64);
        var m = f.Metadata;
        Assert.Equal("test", m.String("general.architecture"));
        Assert.Equal(7, m.Int32("u32"));
        Assert.Equal(-3, m.Integer("i32"));
        Assert.Equal(1L << 40, m.Integer("u64"));
        Assert.Equal(1.5, m.Number("f32"));
        Assert.Equal(-2.25, m.Number("f64"));
        Assert.Equal(true, m.Bool("b"));
        Assert.Equal(["a b", "", "héllo"], m.Strings("strs")!);
        Assert.Equal([1, -2, 3], m.Int32s("ints")!);
        Assert.Equal([0.5f], m.Float32s("floats")!);
        Assert.Null(m.String("absent"));
        Assert.Equal(GgufValueType.Array, m.TypeOf("ints"));

        Assert.Equal(["a", "q", "k", "b"], f.Tensors.Select(t => t.Name));
        var a = f.Tensor("a");
        Assert.Equal([4L, 8], a.Shape);
        Assert.Equal(GgmlType.F32, a.Type);
        Assert.Equal(A, new ReadOnlySpan<float>((void*)f.DataPointer(a), A.Length).ToArray());
        var q = f.Tensor("q");
        Assert.Equal((DType.Q4_0, 128L, 72L), (q.DType, q.Offset, q.ByteCount));   // 128 bytes of a, aligned to 64
        Assert.Equal(17, ((byte*)f.DataPointer(q))[17]);
        Assert.Equal(144, f.Tensor("k").ByteCount);
        Assert.Equal(0, f.Tensors.Sum(t => t.Offset % 64));
        Assert.Contains("missing", Assert.Throws<FrSpecException>(() => f.Tensor("nope")).Message);
    }

    [Fact]
    public void TypedAccessorsNameTheKeyOnAMismatch()
    {
        using var f = GgufFile.Open(Write(SmallFile()));
        var e = Assert.Throws<FrSpecException>(() => f.Metadata.String("u32"));
        Assert.Contains("'u32'", e.Message);
        Assert.Contains("expected a string", e.Message);
        Assert.Contains("[1, 5]", Assert.Throws<FrSpecException>(() => f.Metadata.Int32("u32", 1, 5)).Message);
        Assert.Contains("'strs'", Assert.Throws<FrSpecException>(() => f.Metadata.Int32s("strs")).Message);
        Assert.Contains("'f64'", Assert.Throws<FrSpecException>(() => f.Metadata.Strings("f64")).Message);
    }

    public static TheoryData<string, ulong, string> Corruptions => new()
    {
        { "magic", 0x46554746, "not a GGUF file" },
        { "version", 1, "version 1 is not supported" },
        { "version", 0x03000000, "big-endian" },
        { "tensor_count", 1UL << 40, "tensors cannot fit" },
        { "kv_count", 1UL << 30, "metadata entries cannot fit" },
        { "kv[u32].key_len", 1UL << 62, "string length" },
        { "kv[strs][1].str_len", 1UL << 20, "truncated file" },
        { "kv[strs].count", 1UL << 50, "exceeds the limit" },
        { "kv[ints].count", 1UL << 24, "bytes are left in the file" },
        { "kv[u32].type", 13, "unknown value type 13" },
        { "kv[ints].elem_type", 9, "nested arrays" },
        { "kv[ints].elem_type", 77, "unknown array element type 77" },
        { "kv[b].value", 2, "neither 0 nor 1" },
        { "kv[general.alignment].value", 48, "not a power of two" },
        { "kv[general.alignment].value", 0, "not a power of two" },
        { "kv[general.alignment].type", 5, "expected UInt32" },
        { "tensor[a].n_dims", 0, "0 dimensions" },
        { "tensor[a].n_dims", 5, "5 dimensions" },
        { "tensor[a].dim0", 0, "dimension 0 is 0" },
        { "tensor[a].dim1", 1UL << 62, "2^63 elements" },
        { "tensor[b].dim0", 1UL << 62, "2^63 bytes" },
        { "tensor[a].type", 13, "Q5_K (13) is not supported" },
        { "tensor[a].type", 99, "tensor type unknown (99) is not supported" },
        { "tensor[k].dim0", 100, "not a whole number of 256-weight blocks" },
        { "tensor[q].offset", 130, "not a multiple of the alignment 64" },
        { "tensor[b].offset", 1UL << 40, "end past the end of the file" },
        { "tensor[q].offset", 64, "overlaps tensor 'a'" },
        { "tensor[a].offset", 1UL << 63, "out of range" },
    };

    [Theory, MemberData(nameof(Corruptions))]
    public void CorruptionIsOneErrorNamingFileAndField(string field, ulong value, string expected)
    {
        var bytes = SmallFile();
        var map = new GgufFieldMap(bytes);
        string path = Write(map.With(bytes, field, value));
        var e = Assert.Throws<FrSpecException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains(expected, e.Message);
        Assert.StartsWith(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        string subject = field.StartsWith("tensor[") ? $"tensor '{field[7..field.IndexOf(']')]}'"
            : field.StartsWith("kv[") && !field.Contains("key_len") ? $"metadata '{field[3..field.IndexOf(']')]}'" : "";
        Assert.Contains(subject, e.Message);
    }

    [Fact]
    public void DuplicatesTruncationAndInvalidUtf8AreNamed()
    {
        var bytes = SmallFile();
        var map = new GgufFieldMap(bytes);
        // Rename key "u32" to "i32" and tensor "b" to "a".
        var dupKey = (byte[])bytes.Clone();
        "i32"u8.CopyTo(dupKey.AsSpan((int)map["kv[u32].key_len"].Offset + 8));
        Assert.Contains("metadata 'i32': duplicate key", Assert.Throws<FrSpecException>(() => GgufFile.Open(Write(dupKey)).Dispose()).Message);
        var dupTensor = (byte[])bytes.Clone();
        dupTensor[(int)map["tensor[b].name_len"].Offset + 8] = (byte)'a';
        Assert.Contains("tensor 'a': duplicate tensor name", Assert.Throws<FrSpecException>(() => GgufFile.Open(Write(dupTensor)).Dispose()).Message);
        var badUtf8 = (byte[])bytes.Clone();
        badUtf8[(int)map["kv[strs][2].str_len"].Offset + 9] = 0xFF;   // inside "héllo"
        Assert.Contains("not valid UTF-8", Assert.Throws<FrSpecException>(() => GgufFile.Open(Write(badUtf8)).Dispose()).Message);

        long lastByte;
        using (var f = GgufFile.Open(Write(bytes))) lastByte = f.DataStart + f.Tensor("b").Offset + f.Tensor("b").ByteCount - 1;
        foreach (int cut in new[] { 0, 3, 23, (int)map["kv[strs].count"].Offset + 4, (int)map.HeaderEnd - 1, (int)lastByte })
        {
            var e = Assert.Throws<FrSpecException>(() => GgufFile.Open(Write(bytes[..cut])).Dispose());
            Assert.Contains("truncated", e.Message);
        }
    }

    [Fact]
    public void VersionTwoFilesAreRead()
    {
        var bytes = SmallFile();
        var map = new GgufFieldMap(bytes);
        using var f = GgufFile.Open(Write(map.With(bytes, "version", 2)));
        Assert.Equal(2u, f.Version);
        Assert.Equal(4, f.Tensors.Count);
    }
}
