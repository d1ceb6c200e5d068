# The get_models Lambda: deployment zip (reproducible; see packages/functions/scripts/build_lambda.py).

LAMBDA_ZIP := build/lambda/get_models.zip

.PHONY: lambda
lambda: ## Build build/lambda/get_models.zip (handler functions.get_models.handler.handler)
	$(or $(UV),uv) run python packages/functions/scripts/build_lambda.py --out $(LAMBDA_ZIP)
