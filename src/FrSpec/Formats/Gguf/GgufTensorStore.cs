using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// The weights of a llama or qwen2 GGUF file, served under Hugging Face names (<see cref="GgufTensorNames"/>) with
/// shapes checked, so <see cref="Transformer"/> loads a GGUF exactly as a safetensors directory. Matrices are used in
/// place from the mapping (or copied into huge pages). Two exceptions take an owned copy: block-quantized matrices, which
/// are rearranged into the int8 kernels' <see cref="Numerics.Quantized.InterleavedLayout"/>; and the q/k projections of a
/// "llama" file, whose rows are put back into Hugging Face order, because the engine's RoPE pairs lane j with lane
/// j + headDim/2 while llama.cpp's converter reorders rows for adjacent pairs.
/// </summary>
internal sealed class GgufTensorStore : IWeightStore
{
    private readonly List<NativeBuffer> _copies = new();
    private readonly bool _permutedQk;
    private NativeBuffer? _arena;
    private long _arenaUsed;

    public GgufFile File { get; }
    public ModelConfig Config { get; }
    public bool UsesHugePages => _arena != null;

    private GgufTensorStore(GgufFile file)
    {
        File = file;
        Config = GgufModelConfig.Read(file);
        _permutedQk = Config.ModelType == "llama";
    }

    /// <summary>Opens a GGUF model file and reads its config.</summary>
    public static GgufTensorStore Open(string path)
    {
        var file = GgufFile.Open(path);
        try { return new GgufTensorStore(file); }
        catch { file.Dispose(); throw; }
    }

    /// <summary>The file's tensors under the engine's names (configuration tensors such as rope_freqs excluded).</summary>
    public IEnumerable<string> Names => File.Tensors.Where(t => !GgufTensorNames.IsConfiguration(t.Name)).Select(t => GgufTensorNames.ToHf(t.Name));

    public bool Contains(string name) => GgufTensorNames.FromHf(name) is { } g && File.Contains(g);

    public unsafe WeightMatrix Matrix(string name, int rows, int cols)
    {
        var t = Find(name, rows, cols);
        var type = t.DType;
        byte* src = (byte*)File.DataPointer(t);
        using var widened = Widened(t, ref src);
        CheckDecodable(t, src);
        bool permute = _permutedQk && GgufTensorNames.IsRopePermuted(t.Name);
        if (permute && rows % Config.HeadDim != 0)
            throw new FrSpecException($"{File.Path}: tensor '{t.Name}' has {rows} rows, not whole heads of {Config.HeadDim}");
        // quantized matrices are always rearranged into the kernels' interleaved layout (one copy, same bytes)
        if (!permute && _arena == null && !DTypeInfo.IsQuantized(type)) return new WeightMatrix(type, rows, cols, (nint)src);
        byte* dst = (byte*)Allocate(WeightMatrix.ByteCountOf(type, rows, cols));
        int headDim = Config.HeadDim;
        return WeightMatrix.FromFileRows(type, rows, cols, src, permute ? r => GgufTensorNames.FileRowOfHfRow(r, headDim) : null, dst);
    }

    public unsafe float[] Vector(string name, int length)
    {
        var t = Find(name, length);
        byte* src = (byte*)File.DataPointer(t);
        using var widened = Widened(t, ref src);
        CheckDecodable(t, src);
        var v = new float[length];
        Numerics.Convert.ToFloat(t.DType, src, v);
        if (!_permutedQk || !GgufTensorNames.IsRopePermuted(t.Name)) return v;
        if (length % Config.HeadDim != 0) throw new FrSpecException($"{File.Path}: tensor '{t.Name}' has {length} values, not whole heads of {Config.HeadDim}");
        var hf = new float[length];
        for (int r = 0; r < length; r++) hf[r] = v[GgufTensorNames.FileRowOfHfRow(r, Config.HeadDim)];
        return hf;
    }

    /// <summary>See <see cref="TensorStore.UseHugePages"/>: one huge-page arena for every tensor, when it fits in half of memory.</summary>
    public bool UseHugePages()
    {
        if (_arena != null) return true;
        if (!OperatingSystem.IsLinux()) return false;
        long total = 0;
        foreach (var t in File.Tensors)
        {
            long bytes = t.EngineByteCount; // in the engine's layout (a Q5_0 tensor as Q8_0)
            // the interleaved copy of a quantized matrix pads its last group with up to 15 rows
            if (t.Shape.Length == 2 && DTypeInfo.IsQuantized(t.DType)) bytes += (InterleavedLayout.GroupRows - 1) * (bytes / t.Shape[0]);
            total += (bytes + 63) / 64 * 64;
        }
        if (total > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2) return false;
        _arena = new NativeBuffer(Math.Max(total, 64), hugePages: true);
        return true;
    }

    private nint Allocate(long bytes)
    {
        if (_arena != null && _arenaUsed + bytes <= _arena.Length)
        {
            nint p = _arena.Pointer + (nint)_arenaUsed;
            _arenaUsed += (bytes + 63) / 64 * 64;
            return p;
        }
        var copy = new NativeBuffer(bytes, hugePages: false);
        _copies.Add(copy);
        return copy.Pointer;
    }

    private GgufTensorInfo Find(string hfName, params int[] shape)
    {
        string name = GgufTensorNames.FromHf(hfName) ?? throw new FrSpecException($"{File.Path}: tensor '{hfName}' has no GGUF counterpart");
        var t = File.Tensor(name);
        if (t.Shape.Length != shape.Length || !t.Shape.Zip(shape).All(p => p.First == p.Second))
            throw new FrSpecException($"{File.Path}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        return t;
    }

    /// <summary>
    /// For a type the engine computes in another layout (Q5_0 as Q8_0), the tensor rewritten into that layout in a
    /// temporary buffer, which <paramref name="src"/> then points to; null (and <paramref name="src"/> unchanged) otherwise.
    /// </summary>
    private static unsafe NativeBuffer? Widened(GgufTensorInfo t, ref byte* src)
    {
        if (t.Type != GgmlType.Q5_0) return null;
        var buffer = new NativeBuffer(t.EngineByteCount, hugePages: false);
        Numerics.Quantized.Q5_0.WidenToQ8_0(src, (byte*)buffer.Pointer, t.ElementCount / Numerics.Quantized.Q5_0.BlockSize);
        src = (byte*)buffer.Pointer;
        return buffer;
    }

    /// <summary>Decodes one block (in the engine's layout: after <see cref="Widened"/>), so a type without a decoder fails at
    /// load time with the tensor named, not mid-generation.</summary>
    private unsafe void CheckDecodable(GgufTensorInfo t, byte* src)
    {
        Span<float> block = stackalloc float[DTypeInfo.BlockSize(t.DType)];
        try { Numerics.Convert.ToFloat(t.DType, src, block); }
        catch (NotSupportedException e) { throw new FrSpecException($"{File.Path}: tensor '{t.Name}' is {t.Type}: {e.Message}"); }
    }

    public void Dispose()
    {
        foreach (var c in _copies) c.Dispose();
        _copies.Clear();
        _arena?.Dispose();
        _arena = null;
        File.Dispose();
    }
}
