using Dapr.Client.Autogen.Grpc.v1;
using DaprLlm.Sidecar.Grpc;
using Grpc.Core;

namespace DaprLlm.Sidecar.Secrets;

/// <summary>GetSecret and GetBulkSecret of dapr.proto.runtime.v1.Dapr.</summary>
[BindServiceMethod(typeof(SecretsGrpcService), nameof(BindService))]
public class SecretsGrpcService(SecretService secrets)
{
    public static void BindService(ServiceBinderBase binder, SecretsGrpcService service)
    {
        binder.AddMethod(DaprGrpcMethod.Unary<GetSecretRequest, GetSecretResponse>(DaprGrpcMethod.RuntimeService, "GetSecret"), (request, context) => service.GetSecret(request, context));
        binder.AddMethod(DaprGrpcMethod.Unary<GetBulkSecretRequest, GetBulkSecretResponse>(DaprGrpcMethod.RuntimeService, "GetBulkSecret"), (request, context) => service.GetBulkSecret(request, context));
    }

    public virtual async Task<GetSecretResponse> GetSecret(GetSecretRequest request, ServerCallContext context)
    {
        try
        {
            var secret = await secrets.GetAsync(request.StoreName, request.Key, request.Metadata, context.CancellationToken);
            var response = new GetSecretResponse();
            foreach (var (k, v) in secret)
            {
                response.Data[k] = v;
            }

            return response;
        }
        catch (SecretApiException e)
        {
            throw new RpcException(new Status(e.GrpcCode, e.Message));
        }
    }

    public virtual async Task<GetBulkSecretResponse> GetBulkSecret(GetBulkSecretRequest request, ServerCallContext context)
    {
        try
        {
            var all = await secrets.GetBulkAsync(request.StoreName, request.Metadata, context.CancellationToken);
            var response = new GetBulkSecretResponse();
            foreach (var (name, values) in all)
            {
                var secret = new SecretResponse();
                foreach (var (k, v) in values)
                {
                    secret.Secrets[k] = v;
                }

                response.Data[name] = secret;
            }

            return response;
        }
        catch (SecretApiException e)
        {
            throw new RpcException(new Status(e.GrpcCode, e.Message));
        }
    }
}
