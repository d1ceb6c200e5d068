# The Lambdas: deployment zips (reproducible; see packages/functions/scripts/build_lambda.py).

LAMBDA_ZIP := build/lambda/get_models.zip
FEEDBACK_LAMBDA_ZIP := build/lambda/feedback.zip

.PHONY: lambda
lambda: ## Build build/lambda/get_models.zip and build/lambda/feedback.zip (handlers functions.<name>.handler.handler)
	$(or $(UV),uv) run python packages/functions/scripts/build_lambda.py --function get_models --out $(LAMBDA_ZIP)
	$(or $(UV),uv) run python packages/functions/scripts/build_lambda.py --function feedback --out $(FEEDBACK_LAMBDA_ZIP)
