using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace FrSpec.Formats.Corpus;

/// <summary>
/// Streams documents (strings) from text corpora, in file order:
/// <list type="bullet">
/// <item><c>.txt</c>: one document per non-empty line (as Hugging Face's "text" dataset loader does).</item>
/// <item><c>.jsonl</c>: one JSON object per line; the document is its string field <see cref="TextField"/>.</item>
/// <item><c>.parquet</c>: the string column <see cref="TextField"/>, one document per row.</item>
/// <item>Any of the line formats may be compressed: <c>.zst</c> (zstd) or <c>.gz</c>.</item>
/// </list>
/// Errors name the file and line. <see cref="BytesRead"/> (bytes consumed from the files, compressed) can be
/// read from another thread for progress reporting.
/// </summary>
public sealed class CorpusReader
{
    private long _bytesRead;

    public CorpusReader(IReadOnlyList<string> paths, string textField = "text")
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0) throw new FrSpecException("no corpus files given");
        foreach (var p in paths)
        {
            if (!File.Exists(p)) throw new FrSpecException($"{p}: corpus file not found");
            FormatOf(p);
        }
        Paths = paths;
        TextField = textField;
        TotalBytes = paths.Sum(InputFile.Length);
    }

    public IReadOnlyList<string> Paths { get; }

    /// <summary>Longest document line read (16 Mi characters): a longer one is an error, not an unbounded allocation.</summary>
    public const int MaxLineChars = 1 << 24;

    /// <summary>Most rows one parquet row group may declare: its text column is read into memory at once.</summary>
    public const long MaxRowsPerGroup = 1 << 22;

    /// <summary>JSON field / parquet column holding the text.</summary>
    public string TextField { get; }

    /// <summary>Total size of the files on disk.</summary>
    public long TotalBytes { get; }

    /// <summary>Bytes of the files consumed so far (thread-safe read).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    private enum Format { Text, JsonLines, Parquet }

    private static (Format format, string compression) FormatOf(string path)
    {
        string name = Path.GetFileName(path).ToLowerInvariant();
        string compression = "";
        if (name.EndsWith(".zst")) { compression = "zst"; name = name[..^4]; }
        else if (name.EndsWith(".gz")) { compression = "gz"; name = name[..^3]; }
        if (name.EndsWith(".txt")) return (Format.Text, compression);
        if (name.EndsWith(".jsonl") || name.EndsWith(".json")) return (Format.JsonLines, compression);
        if (name.EndsWith(".parquet") && compression == "") return (Format.Parquet, "");
        throw new FrSpecException($"{path}: unknown corpus format (expected .txt, .jsonl, .jsonl.zst, .txt.zst, .jsonl.gz, .txt.gz or .parquet)");
    }

    /// <summary>All documents of all files, in order.</summary>
    public IEnumerable<string> Documents()
    {
        foreach (var path in Paths)
        {
            var (format, compression) = FormatOf(path);
            long before = BytesRead;
            var docs = format == Format.Parquet ? ReadParquet(path) : ReadLines(path, format, compression);
            foreach (var d in docs) yield return d;
            // Parquet reads seek around; make the total exact at the end of every file.
            Interlocked.Exchange(ref _bytesRead, before + InputFile.Length(path));
        }
    }

    private IEnumerable<string> ReadLines(string path, Format format, string compression)
    {
        using var file = new ProgressStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20), this);
        using Stream data = compression switch
        {
            "zst" => new ZstdSharp.DecompressionStream(file),
            "gz" => new GZipStream(file, CompressionMode.Decompress),
            _ => file,
        };
        // Strict UTF-8: binary data is an error, not text counted with replacement characters.
        using var text = new StreamReader(data, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 20);
        var reader = new BoundedLineReader(text, MaxLineChars);
        long lineNo = 0;
        while (true)
        {
            string? line;
            try { line = reader.ReadLine(); }
            catch (LineTooLongException e)
            {
                throw new FrSpecException($"{path}: line {lineNo + 1} is longer than {e.Limit:N0} characters: not line-separated text (or a decompression bomb)");
            }
            catch (DecoderFallbackException)
            {
                throw new FrSpecException($"{path}: line {lineNo + 1} is not UTF-8 text (binary data?)");
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException)
            {
                throw new FrSpecException($"{path}: cannot decompress/read after line {lineNo}: {e.Message}");
            }
            if (line is null) yield break;
            lineNo++;
            if (line.Length == 0 || (format == Format.JsonLines && string.IsNullOrWhiteSpace(line))) continue;
            if (format == Format.Text)
            {
                if (line.Contains('\0')) throw new FrSpecException($"{path}:{lineNo}: holds NUL characters: binary data, not text");
                yield return line;
                continue;
            }
            yield return TextOfJsonLine(path, lineNo, line);
        }
    }

    private string TextOfJsonLine(string path, long lineNo, string line)
    {
        using var doc = JsonInput.ParseLine(line, $"{path}:{lineNo}");
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new FrSpecException($"{path}:{lineNo}: line is not a JSON object");
        if (!doc.RootElement.TryGetProperty(TextField, out var v))
            throw new FrSpecException($"{path}:{lineNo}: no \"{TextField}\" field (choose one with --text-field)");
        if (v.ValueKind != JsonValueKind.String)
            throw new FrSpecException($"{path}:{lineNo}: field \"{TextField}\" is {v.ValueKind}, not a string");
        return v.GetString()!;
    }

    private IEnumerable<string> ReadParquet(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        ParquetReader? reader;
        try
        {
            ParquetGuard.CheckFooter(file, path);
            reader = ParquetReader.CreateAsync(file).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not FrSpecException)
        {
            throw new FrSpecException($"{path}: not a readable parquet file: {e.Message}");
        }
        try
        {
            Parquet.Schema.DataField[] fields;
            try
            {
                fields = reader.Schema.GetDataFields();
                ParquetGuard.CheckPages(file, reader.Metadata ?? throw new FrSpecException($"{path}: no file metadata"), path);
            }
            catch (Exception e) when (e is not FrSpecException)
            {
                throw new FrSpecException($"{path}: not a readable parquet file: {e.Message}");
            }
            var field = fields.FirstOrDefault(f => f.Name == TextField)
                ?? throw new FrSpecException($"{path}: no column \"{TextField}\" (columns: {string.Join(", ", fields.Select(f => f.Name))}; choose one with --text-field)");
            if (field.ClrType != typeof(string) && field.ClrType != typeof(ReadOnlyMemory<char>))
                throw new FrSpecException($"{path}: column \"{TextField}\" holds {field.ClrType.Name}, not strings");
            long perGroup = reader.RowGroupCount > 0 ? file.Length / reader.RowGroupCount : 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                string?[] data;
                try
                {
                    using var group = reader.OpenRowGroupReader(g);
                    if (group.RowCount < 0 || group.RowCount > MaxRowsPerGroup)
                        throw new FrSpecException($"{path}: row group {g} declares {group.RowCount} rows (at most {MaxRowsPerGroup:N0} are read at once)");
                    data = new string?[group.RowCount];
                    group.ReadAsync(field, data.AsMemory(), null, default).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is not FrSpecException)
                {
                    throw new FrSpecException($"{path}: row group {g}: cannot read column \"{TextField}\": {e.Message}");
                }
                Interlocked.Add(ref _bytesRead, perGroup);
                foreach (var item in data)
                    if (item is string s && s.Length > 0) yield return s;
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Counts bytes read from the underlying file for progress.</summary>
    private sealed class ProgressStream(Stream inner, CorpusReader owner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            Interlocked.Add(ref owner._bytesRead, n);
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
