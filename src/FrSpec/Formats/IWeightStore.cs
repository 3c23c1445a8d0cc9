namespace FrSpec.Formats;

/// <summary>
/// A model's weights, open for the model's lifetime: safetensors files (<see cref="TensorStore"/>) or a GGUF file
/// (<see cref="Gguf.GgufTensorStore"/>), both asked for tensors by their Hugging Face names.
/// </summary>
public interface IWeightStore : ITensorSource, IDisposable
{
    /// <summary>True when matrices are copied into 2 MiB huge-page memory instead of used from the file mapping.</summary>
    bool UsesHugePages { get; }

    /// <summary>From now on, copy matrices into huge-page memory; false (and nothing changes) where that is not possible.</summary>
    bool UseHugePages();
}
