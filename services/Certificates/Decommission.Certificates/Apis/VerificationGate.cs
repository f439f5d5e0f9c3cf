using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Apis;

/// <summary>
/// At most <see cref="CertificatesOptions.MaxParallelVerifications"/> uploads are read and checked at once, each into a
/// buffer of the upload cap that its slot keeps for the next: memory stays at slots × cap however many upload.
/// </summary>
public sealed class VerificationGate(IOptions<CertificatesOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxParallelVerifications, options.Value.MaxParallelVerifications);
    private readonly System.Collections.Concurrent.ConcurrentBag<byte[]> _buffers = [];

    /// <summary>How many verifications could start now.</summary>
    public int FreeSlots => _slots.CurrentCount;

    /// <summary>A slot, or null when none freed up in time.</summary>
    public async Task<Slot?> EnterAsync(CancellationToken cancellationToken) =>
        await _slots.WaitAsync(options.Value.VerificationQueueTimeout, cancellationToken)
            ? new Slot(this, _buffers.TryTake(out var buffer) ? buffer : new byte[options.Value.MaxVerifyUploadBytes])
            : null;

    public void Dispose() => _slots.Dispose();

    public sealed class Slot(VerificationGate gate, byte[] buffer) : IDisposable
    {
        private int _released;

        /// <summary>Room for one upload of the largest size accepted.</summary>
        public byte[] Buffer => buffer;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
                return;
            gate._buffers.Add(buffer);
            gate._slots.Release();
        }
    }
}
