using System.Runtime.CompilerServices;
using System.Text;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// A bounds-checked little-endian reader over the mapped bytes of a GGUF header. Every read checks the remaining
/// length first, so a corrupt count or length can never read past the mapping; a failure names the file, the field
/// being read (<see cref="Field"/>) and the byte offset.
/// </summary>
internal sealed unsafe class GgufCursor(string path, byte* data, long length)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public long Position { get; private set; }
    public long Remaining => length - Position;
    /// <summary>What is being read, for error messages ("metadata key #3", "tensor 'x' dims").</summary>
    public string Field { get; set; } = "header";

    public FrSpecException Error(string problem) => new($"{path}: {Field}: {problem}");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* Take(long n)
    {
        if (n > Remaining) throw Error($"truncated file: {n} bytes needed at byte {Position}, the file has {length}");
        byte* p = data + Position;
        Position += n;
        return p;
    }

    public byte U8() => *Take(1);
    public uint U32() => Unsafe.ReadUnaligned<uint>(Take(4));
    public ulong U64() => Unsafe.ReadUnaligned<ulong>(Take(8));
    public T Read<T>() where T : unmanaged => Unsafe.ReadUnaligned<T>(Take(sizeof(T)));

    /// <summary>A u64 length, then that many bytes of UTF-8; the length is checked against the file before anything is allocated.</summary>
    public string String(long maxBytes)
    {
        ulong n = U64();
        if (n > (ulong)maxBytes) throw Error($"string length {n} exceeds the limit of {maxBytes} bytes");
        byte* p = Take((long)n);
        try { return StrictUtf8.GetString(p, (int)n); }
        catch (DecoderFallbackException) { throw Error($"string at byte {Position - (long)n} is not valid UTF-8"); }
    }

    /// <summary>Skips padding up to the next multiple of <paramref name="alignment"/> (may end past the file: callers check).</summary>
    public long Aligned(long alignment) => (Position + alignment - 1) / alignment * alignment;
}
