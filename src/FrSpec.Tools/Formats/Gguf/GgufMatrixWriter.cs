using FrSpec.Numerics;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// Queues the weight matrices of a model for a <see cref="GgufWriter"/>: copied in their safetensors dtype, or converted
/// to the type <see cref="QuantizationMix"/> picks. Conversion streams a chunk of rows at a time (rows reordered first
/// where llama.cpp's q/k layout asks for it, so each row is quantized on its own exactly as llama-quantize would
/// quantize the converter's rows), with the rows of a chunk spread over the worker threads.
/// </summary>
internal sealed unsafe class GgufMatrixWriter(TensorStore store, QuantizedFileType? quantize, int layers, bool hasOutput,
    IProgress<(int Done, int Total)>? progress)
{
    private const int CopyChunk = 16 << 20;
    private const int ChunkFloats = 4 << 20;   // f32 values converted per chunk (16 MiB)
    private const int ProgressShift = 16;      // progress counts weights in units of 2^16
    private long _total, _done;

    /// <summary>A [rows, cols] matrix; with <paramref name="permuteHeads"/> &gt; 0, rows reordered per head
    /// (<see cref="GgufModelExporter.PermutedSourceRow"/>).</summary>
    public void Add(GgufWriter w, string ggufName, string hfName, int rows, int cols, int permuteHeads = 0)
    {
        var m = store.Matrix(hfName, rows, cols); // validates shape and dtype
        var source = GgmlTypeInfo.From(m.Type);
        var target = quantize is { } q && QuantizationMix.IsQuantized(ggufName, 2)
            ? QuantizationMix.TypeOf(q, ggufName, cols, layers, hasOutput) : source;
        int headDim = 0;
        if (permuteHeads > 0)
        {
            if (rows % permuteHeads != 0 || rows / permuteHeads % 2 != 0)
                throw new FrSpecException($"{store.Directory}: tensor '{hfName}' has {rows} rows, not {permuteHeads} heads of even size");
            headDim = rows / permuteHeads;
        }
        long elements = (long)rows * cols;
        _total += elements;
        w.AddTensor(ggufName, target, [rows, cols], st =>
        {
            if (target != source) Convert(m, target, st, headDim);
            else
            {
                Copy(m, st, headDim);
                Report(elements);
            }
        });
    }

    private static long SourceRow(int r, int headDim) => headDim > 0 ? GgufModelExporter.PermutedSourceRow(r, headDim) : r;

    private static void Copy(WeightMatrix m, Stream st, int headDim)
    {
        int rb = m.RowBytes;
        if (headDim > 0)
        {
            for (int r = 0; r < m.Rows; r++) st.Write(new ReadOnlySpan<byte>((byte*)m.Data + SourceRow(r, headDim) * rb, rb));
            return;
        }
        long total = m.ByteCount;
        for (long off = 0; off < total; off += CopyChunk)
            st.Write(new ReadOnlySpan<byte>((byte*)m.Data + off, (int)Math.Min(CopyChunk, total - off)));
    }

    private void Convert(WeightMatrix m, GgmlType target, Stream st, int headDim)
    {
        int cols = m.Cols, srcRowBytes = m.RowBytes, dstRowBytes = checked((int)GgmlTypeInfo.RowBytes(target, cols));
        int chunkRows = Math.Max(1, ChunkFloats / cols);
        var output = new byte[(long)Math.Min(chunkRows, m.Rows) * dstRowBytes];
        var job = new RowJob(m, target, headDim, srcRowBytes, dstRowBytes);
        fixed (byte* o = output)
        {
            job.Output = o;
            for (int r0 = 0; r0 < m.Rows; r0 += chunkRows)
            {
                int n = Math.Min(chunkRows, m.Rows - r0);
                job.First = r0;
                WorkerPool.Shared.For(n, job, 16);
                st.Write(output.AsSpan(0, n * dstRowBytes));
                Report((long)n * cols);
            }
        }
    }

    private void Report(long elements)
    {
        if (progress == null) return;
        _done += elements;
        progress.Report(((int)(_done >> ProgressShift), (int)(_total >> ProgressShift)));
    }

    private sealed class RowJob(WeightMatrix m, GgmlType target, int headDim, int srcRowBytes, int dstRowBytes) : IRangeJob
    {
        public int First;
        public byte* Output;
        [ThreadStatic] private static float[]? t_row;

        public void Execute(int start, int end)
        {
            var row = t_row is { } a && a.Length >= m.Cols ? a : t_row = new float[m.Cols];
            var values = row.AsSpan(0, m.Cols);
            for (int i = start; i < end; i++)
            {
                long src = SourceRow(First + i, headDim);
                Numerics.Convert.ToFloat(m.Type, (byte*)m.Data + src * srcRowBytes, values);
                if (target == GgmlType.Q5_0) Numerics.Quantized.Q5_0.Quantize(values, new Span<byte>(Output + (long)i * dstRowBytes, dstRowBytes));
                else Numerics.Convert.FromFloat(values, GgmlTypeInfo.ToDType(target), Output + (long)i * dstRowBytes);
            }
        }
    }
}
