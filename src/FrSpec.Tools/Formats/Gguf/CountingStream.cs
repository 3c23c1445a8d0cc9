namespace FrSpec.Formats.Gguf;

/// <summary>A write-only pass-through stream that counts bytes, so the writer knows its position on any stream.</summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    public long Count { get; private set; }

    public override void Write(byte[] buffer, int offset, int count) { inner.Write(buffer, offset, count); Count += count; }
    public override void Write(ReadOnlySpan<byte> buffer) { inner.Write(buffer); Count += buffer.Length; }
    public override void WriteByte(byte value) { inner.WriteByte(value); Count++; }
    public override void Flush() => inner.Flush();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Count;
    public override long Position { get => Count; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
