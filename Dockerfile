FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VAR_DIR=/app/var UPLOAD_ROOT=/data/uploads STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# collectstatic needs settings but no database; the build-time key is discarded with the layer.
RUN DEBUG=0 SECRET_KEY=build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \
    ALLOWED_HOSTS=build python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --home /app agepar \
 && mkdir -p /app/var /data/uploads && chown -R agepar /app/var /data/uploads

USER agepar
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
